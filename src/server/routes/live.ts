/**
 * Admin: `GET /api/v1/live`, server-sent events for the dashboard. Each `change` event names what
 * moved (devices, events, rollouts, audit: LiveChange); the page then fetches what it shows again
 * through the ordinary admin API, so the stream carries no data a token could not read anyway.
 */
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { LiveChange } from "../api-schemas.ts";
import type { LiveFeed } from "../live.ts";

/** A comment line now and then keeps proxies from closing an idle stream. */
const HEARTBEAT_MS = 15_000;

export const liveRoutes: FastifyPluginAsyncTypebox<{ feed: LiveFeed }> = async (app, { feed }) => {
  app.get("/live", async (request, reply) => {
    reply.hijack();
    const out = reply.raw;
    out.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      connection: "keep-alive",
    });
    // nothing is written once the stream ended (server closing) or the reader went away
    const send = (text: string) => {
      if (!out.writableEnded && !out.destroyed) out.write(text);
    };
    send("retry: 2000\n\n");
    const heartbeat = setInterval(() => send(": still here\n\n"), HEARTBEAT_MS);
    const stop = feed.listen({
      change: (topics) => {
        const event: LiveChange = { topics };
        send(`event: change\ndata: ${JSON.stringify(event)}\n\n`);
      },
      close: () => {
        clearInterval(heartbeat);
        out.end();
      },
    });
    request.raw.on("close", () => {
      clearInterval(heartbeat);
      stop();
    });
  });
};

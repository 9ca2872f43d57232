/**
 * The dashboard at `/` (built from web/ into web/dist by `npm install`, see docs/dashboard.md).
 * Everything the page needs is served from here: no CDN, works offline.
 * The page itself holds no data; it signs in and reads the admin API like the CLI does.
 */
import { readFile } from "node:fs/promises";
import { extname, join, resolve } from "node:path";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import Type from "typebox";
import { sendFile } from "../send-file.ts";

/** Where `npm run build:web` puts the dashboard. */
export const WEB_DIST = resolve(import.meta.dirname, "../../../web/dist");

const TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".woff2": "font/woff2",
};

/** The page runs only its own scripts and talks only to this server. */
const PAGE_HEADERS = {
  "content-security-policy":
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-cache",
};

const NOT_BUILT =
  "<!doctype html><html lang=en><head><meta charset=utf-8><title>mpota update server</title></head>" +
  "<body><h1>mpota update server</h1><p>The dashboard is not built: run <code>npm run build:web</code> " +
  "(<code>npm install</code> does it). The admin API is at <code>/api/v1</code>.</p></body></html>\n";

export const dashboardRoutes: FastifyPluginAsyncTypebox<{ webDir?: string }> = async (
  app,
  { webDir = WEB_DIST },
) => {
  app.get("/", async (_request, reply) => {
    let page: string;
    try {
      page = await readFile(join(webDir, "index.html"), "utf8");
    } catch {
      page = NOT_BUILT;
    }
    return reply.headers(PAGE_HEADERS).type("text/html; charset=utf-8").send(page);
  });

  // Vite names every asset by its content hash, so each is immutable.
  app.get(
    "/assets/:file",
    { schema: { params: Type.Object({ file: Type.String({ pattern: "^[A-Za-z0-9._-]{1,128}$" }) }) } },
    async (request, reply) => {
      const { file } = request.params;
      const type = TYPES[extname(file)] ?? "application/octet-stream";
      reply.header("x-content-type-options", "nosniff");
      return sendFile(request, reply, join(webDir, "assets", file), file, type);
    },
  );
};

/**
 * The device API's concurrency limit. A request counts from its first hook until its raw response
 * closes: Node emits `close` once for every response, answered or not, so a client that hangs up
 * mid-body frees its slot too (Fastify's onResponse never runs for an aborted request).
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import type { Limits } from "./context.ts";

export class DeviceLoad {
  /** Device requests in flight now. */
  inFlight = 0;

  constructor(private readonly limits: Pick<Limits, "maxConcurrent">) {}

  get full(): boolean {
    return this.inFlight >= this.limits.maxConcurrent;
  }

  /** onRequest hook: counts the request until its response closes, or answers 503 when full. */
  readonly hook = async (_request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (this.full) {
      return reply.code(503).header("retry-after", "5").send({ error: "server busy; retry later" });
    }
    this.inFlight++;
    reply.raw.once("close", () => this.inFlight--);
  };
}

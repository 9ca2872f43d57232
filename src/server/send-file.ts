/**
 * Sends an immutable, content-addressed file: strong ETag, If-None-Match → 304, one `Range`
 * (`bytes=a-b`, `bytes=a-`, `bytes=-n`) → 206, an unsatisfiable range → 416.
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import type { FastifyReply, FastifyRequest } from "fastify";
import { HttpError } from "./errors.ts";

const IMMUTABLE = "public, max-age=31536000, immutable";

export async function sendFile(
  request: FastifyRequest,
  reply: FastifyReply,
  path: string,
  etag: string,
  contentType: string,
): Promise<FastifyReply> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch {
    throw new HttpError(404, `not found: ${request.url.split("?")[0]}`);
  }
  const quoted = `"${etag}"`;
  reply.header("etag", quoted).header("cache-control", IMMUTABLE).header("accept-ranges", "bytes");
  if (matchesEtag(request.headers["if-none-match"], quoted)) return reply.code(304).send();
  const range = request.headers.range;
  const ifRange = request.headers["if-range"];
  if (range && (!ifRange || ifRange === quoted)) {
    const span = parseRange(range, size);
    if (!span) {
      return reply
        .code(416)
        .header("content-range", `bytes */${size}`)
        .send({ error: `range ${range} not satisfiable` });
    }
    const [start, end] = span;
    reply.type(contentType);
    reply
      .code(206)
      .header("content-range", `bytes ${start}-${end}/${size}`)
      .header("content-length", end - start + 1);
    return reply.send(request.method === "HEAD" ? "" : createReadStream(path, { start, end }));
  }
  reply.type(contentType).header("content-length", size);
  return reply.send(request.method === "HEAD" ? "" : createReadStream(path));
}

export function matchesEtag(header: string | undefined, quoted: string): boolean {
  if (!header) return false;
  return header.split(",").some((tag) => {
    const t = tag.trim();
    return t === "*" || t === quoted || t === `W/${quoted}`;
  });
}

/** [start, end] inclusive, or undefined when the range cannot be satisfied. Multi-range is not served. */
function parseRange(header: string, size: number): [number, number] | undefined {
  const match = header.match(/^bytes=(\d*)-(\d*)$/);
  if (!match || (match[1] === "" && match[2] === "")) return undefined;
  if (match[1] === "") {
    const suffix = Number(match[2]);
    if (suffix === 0 || size === 0) return undefined;
    return [Math.max(0, size - suffix), size - 1];
  }
  const start = Number(match[1]);
  const end = match[2] === "" ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (start >= size || end < start) return undefined;
  return [start, end];
}

import { MpotaError } from "../errors/index.ts";

/**
 * Why the server's data refuses what it was asked, said without HTTP: thrown by the data layer
 * (data/), the file store and the upload checks; the one error handler (app.ts) maps it to a status.
 */
export type Refusal = "invalid" | "not-found" | "conflict" | "too-large" | "unsupported";

export class DataError extends MpotaError {
  constructor(
    readonly refusal: Refusal,
    message: string,
  ) {
    super("server", message);
  }
}

/** The HTTP status each refusal is answered with. */
export const REFUSAL_STATUS: Record<Refusal, number> = {
  invalid: 400,
  "not-found": 404,
  conflict: 409,
  "too-large": 413,
  unsupported: 415,
};

/**
 * A refusal that belongs to HTTP itself (authentication, overload, rate limits, a missing file),
 * with the status and headers to send; its message is safe and useful to show the client.
 */
export class HttpError extends MpotaError {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super("http", message);
  }
}

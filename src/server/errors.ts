import { MpotaError } from "../errors/index.ts";

/** An error whose message is safe and useful to show the client, with the HTTP status to send. */
export class HttpError extends MpotaError {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super("http", message);
  }
}

import { MpotaError } from "../errors/index.ts";

/** A release that cannot be built as asked: bad source, bad options, a version out of order. */
export class ReleaseError extends MpotaError {
  constructor(message: string) {
    super("release", message);
  }
}

import { MpotaError } from "../errors/index.ts";

/** A patch that cannot be made or does not apply: the caller falls back to the whole file. */
export class PatchError extends MpotaError {
  constructor(message: string) {
    super("patch", message);
  }
}

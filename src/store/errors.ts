import { MpotaError } from "../errors/index.ts";

/** A store that cannot do what was asked: a missing or clashing release, a damaged blob. */
export class StoreError extends MpotaError {
  constructor(message: string) {
    super("store", message);
  }
}

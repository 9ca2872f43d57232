/** A store that cannot do what was asked: a missing or clashing release, a damaged blob. */
export class StoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StoreError";
  }
}

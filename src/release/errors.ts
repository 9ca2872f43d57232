/** A release that cannot be built as asked: bad source, bad options, a version out of order. */
export class ReleaseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ReleaseError";
  }
}

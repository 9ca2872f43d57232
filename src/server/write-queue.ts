/**
 * Writes that the answer waits for, grouped: rows queued while a write is under way go to the
 * database together in the next one, so under load one statement carries many requests' rows and at
 * rest a row is written at once. The queue is bounded: past `max` rows waiting, `add` answers 503
 * with Retry-After instead of growing.
 */
import { HttpError } from "./errors.ts";

export class WriteQueue<T> {
  private queued: T[] = [];
  private next: Promise<void> | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly write: (rows: T[]) => Promise<void>,
    private readonly max: () => number,
  ) {}

  /** Resolves once `row` is written (rejects with the write's error). */
  add(row: T): Promise<void> {
    if (this.queued.length >= this.max())
      throw new HttpError(503, "server busy writing; retry later", { "retry-after": "2" });
    this.queued.push(row);
    this.next ??= this.writing.then(
      () => this.drain(),
      () => this.drain(),
    );
    return this.next;
  }

  private drain(): Promise<void> {
    const rows = this.queued;
    this.queued = [];
    this.next = undefined;
    this.writing = this.write(rows);
    return this.writing;
  }
}

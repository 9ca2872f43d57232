/** Grouped writes: rows queued during a write go together in the next one; a full queue answers 503. */
import { describe, expect, it } from "vitest";
import { HttpError } from "./errors.ts";
import { WriteQueue } from "./write-queue.ts";

describe("WriteQueue", () => {
  it("writes a lone row at once and groups the rows that wait for a write under way", async () => {
    const writes: number[][] = [];
    let release: () => void = () => {};
    const queue = new WriteQueue<number>(
      async (rows) => {
        writes.push(rows);
        if (rows[0] === 1) await new Promise<void>((done) => (release = done));
      },
      () => 10,
    );
    const first = queue.add(1);
    await new Promise((done) => setImmediate(done));
    expect(writes).toEqual([[1]]);
    const rest = [queue.add(2), queue.add(3), queue.add(4)];
    release();
    await Promise.all([first, ...rest]);
    expect(writes).toEqual([[1], [2, 3, 4]]);
  });

  it("answers 503 with Retry-After past its bound, and takes rows again once written", async () => {
    let release: () => void = () => {};
    const queue = new WriteQueue<number>(
      () => new Promise<void>((done) => (release = done)),
      () => 2,
    );
    const written = [queue.add(1), queue.add(2)];
    let refused: unknown;
    try {
      void queue.add(3);
    } catch (err) {
      refused = err;
    }
    expect(refused).toBeInstanceOf(HttpError);
    expect((refused as HttpError).statusCode).toBe(503);
    expect((refused as HttpError).headers["retry-after"]).toBeDefined();
    await new Promise((done) => setImmediate(done));
    release();
    await Promise.all(written);
    const again = queue.add(3);
    await new Promise((done) => setImmediate(done));
    release();
    await again;
  });

  it("hands a failed write's error to the rows it carried", async () => {
    const queue = new WriteQueue<number>(
      async () => {
        throw new Error("disk full");
      },
      () => 10,
    );
    await expect(queue.add(1)).rejects.toThrow("disk full");
    await expect(queue.add(2)).rejects.toThrow("disk full");
  });
});

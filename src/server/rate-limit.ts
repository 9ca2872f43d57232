/**
 * Per-process request budgets: at most `max` hits per key in each window (fixed windows, so a key
 * costs one small record), with 429 and Retry-After past the budget, as for check-ins. Memory is
 * bounded: past `maxKeys` keys the oldest window is forgotten, which can only let a request through.
 */
import { HttpError } from "./errors.ts";

interface Window {
  start: number;
  count: number;
}

export class RateLimiter {
  private windows = new Map<string, Window>();

  /**
   * `max()` is read on every hit (0: no limit), so a limit can be changed on a running server; the
   * clock is read only when a key has a window to compare with or starts one.
   */
  constructor(
    private readonly max: () => number,
    private readonly clock: () => number,
    private readonly windowMs = 60_000,
    private readonly maxKeys = 100_000,
  ) {}

  private current(key: string, now: number): Window | undefined {
    const window = this.windows.get(key);
    if (window && now - window.start < this.windowMs) return window;
    if (window) this.windows.delete(key);
    return undefined;
  }

  /** Ms until `key` has budget again; 0 when it has some now. Counts nothing. */
  waitMs(key: string): number {
    const max = this.max();
    if (max <= 0 || !this.windows.has(key)) return 0;
    const now = this.clock();
    const window = this.current(key, now);
    if (!window || window.count < max) return 0;
    return window.start + this.windowMs - now;
  }

  /** Counts one hit of `key`. */
  hit(key: string): void {
    if (this.max() <= 0) return;
    const now = this.clock();
    let window = this.current(key, now);
    if (!window) {
      if (this.windows.size >= this.maxKeys) this.windows.delete(this.windows.keys().next().value!);
      window = { start: now, count: 0 };
      this.windows.set(key, window);
    }
    window.count++;
  }

  /** Counts one hit of `key`, or throws 429 (`message`, Retry-After) when its budget is spent. */
  take(key: string, message: string): void {
    const wait = this.waitMs(key);
    if (wait > 0) throw tooMany(message, wait);
    this.hit(key);
  }
}

/** 429 with Retry-After (whole seconds, at least 1). */
export function tooMany(message: string, waitMs: number): HttpError {
  return new HttpError(429, message, { "retry-after": String(Math.max(1, Math.ceil(waitMs / 1000))) });
}

/**
 * The device's virtual clock and watchdog. Sleeps do not spin the CPU: they advance the virtual clock
 * (and really wait `sleepScale` times as long). The host reads the same shared slots to catch a
 * watchdog that expires while the device spins in a loop that never calls out.
 */
import { BOARD } from "./protocol.ts";

/** Thrown to end a boot the way the hardware would (reset, watchdog, deep sleep): it unwinds Python. */
export class BoardReset extends Error {
  constructor(
    readonly kind: "reset" | "soft" | "wdt" | "deepsleep",
    readonly sleepMs = 0,
  ) {
    super(`board ${kind}`);
  }
}

export class Clock {
  private readonly waitCell = new Int32Array(new SharedArrayBuffer(4));
  wdtFeeds = 0;

  constructor(
    private readonly board: Float64Array,
    private readonly sleepScale: number,
  ) {}

  now(): number {
    const b = this.board;
    return b[BOARD.BOOT_CLOCK]! + (Date.now() - b[BOARD.BOOT_REAL_START]!) + b[BOARD.CLOCK_OFFSET]!;
  }

  /** The calendar clock (time.time()), ms since 1970. */
  rtcNow(): number {
    return this.now() + this.board[BOARD.RTC_OFFSET]!;
  }

  /** Sets the calendar clock; ticks and the watchdog run on undisturbed, as on a board. */
  setRtc(ms: number): void {
    this.board[BOARD.RTC_OFFSET] = ms - this.now();
  }

  /** Raises the watchdog reset if it has expired. */
  checkWatchdog(): void {
    const deadline = this.board[BOARD.WDT_DEADLINE]!;
    if (deadline > 0 && this.now() >= deadline) throw new BoardReset("wdt");
  }

  startWatchdog(timeoutMs: number): void {
    this.board[BOARD.WDT_DEADLINE] = this.now() + Math.max(1, timeoutMs);
  }

  feedWatchdog(timeoutMs: number): void {
    if (this.board[BOARD.WDT_DEADLINE]! > 0) this.startWatchdog(timeoutMs);
  }

  watchdogArmed(): boolean {
    return this.board[BOARD.WDT_DEADLINE]! > 0;
  }

  /** Jumps the clock to the watchdog deadline (the board idles until the watchdog bites). */
  idleUntilWatchdog(): void {
    const gap = this.board[BOARD.WDT_DEADLINE]! - this.now();
    if (gap > 0) this.board[BOARD.CLOCK_OFFSET]! += gap;
  }

  sleepMs(ms: number): void {
    this.checkWatchdog();
    const deadline = this.board[BOARD.WDT_DEADLINE]!;
    const target = this.now() + Math.max(0, ms);
    const wakeAt = deadline > 0 ? Math.min(target, deadline) : target;
    const realWait = Math.max(0, wakeAt - this.now()) * this.sleepScale;
    Atomics.wait(this.waitCell, 0, 0, realWait);
    const remaining = wakeAt - this.now();
    if (remaining > 0) this.board[BOARD.CLOCK_OFFSET]! += remaining;
    this.checkWatchdog();
  }
}

/** Messages and shared-memory layout between a device worker and the host thread. */

export type FaultErrno = "EIO" | "ENOSPC";
export type DurabilityModel = "torn" | "commit-on-close";

export interface BootJob {
  /** The durable flash content at power-on (device paths without leading "/"; dirs end in "/"). */
  files: Record<string, Uint8Array>;
  /** Firmware modules (Python shims), outside the flash. */
  firmware: Record<string, string>;
  /** Python source to run after boot.py instead of main.py. */
  script?: string;
  boot: boolean;
  /** Mutating operations done before this boot (op numbers continue across reboots). */
  opsBefore: number;
  cutAt?: number;
  faults: Array<{ at: number; errno: FaultErrno }>;
  flashSizeBytes: number;
  resetCause: number;
  uniqueId: string;
  net: boolean;
  hosts: Record<string, string>;
  wifi: { ssid: string; password: string } | "fail" | "connected";
  /** network.LAN: absent, a port without a cable ("down") or with one ("up"). */
  lan?: "up" | "down";
  /** A cellular modem on machine.UART(uart). */
  modem?: ModemSpec;
  /** Virtual clock at power-on, ms since the Unix epoch. */
  clockMs: number;
  sleepScale: number;
  heapBytes: number;
  /** What ntptime.settime() sets the clock to (UTC ms), or null: no NTP answer. */
  ntpMs: number | null;
}

export type LinkName = "wlan" | "lan" | "ppp";

/** A virtual AT modem: the UART it sits on, the SIM's PIN (none: unlocked), the APN that gets a data link. */
export interface ModemSpec {
  uart: number;
  simPin?: string;
  apn?: string;
  /** Powered off: it hears commands but never answers. */
  silent?: boolean;
}

/** machine.reset_cause() values (ESP32). */
export const RESET_CAUSE = { PWRON: 1, HARD: 2, WDT: 3, DEEPSLEEP: 4, SOFT: 5 } as const;

/** Why a boot ended. */
export type BootEnd =
  | { kind: "returned"; error?: string }
  | { kind: "reset" }
  | { kind: "soft" }
  | { kind: "deepsleep"; ms: number }
  | { kind: "wdt" }
  | { kind: "cut"; op: number }
  | { kind: "fatal"; error: string }
  /** Set by the host: the run's time limit passed. */
  | { kind: "timeout" };

export interface FlashCounters {
  ops: number;
  bytesRead: number;
  bytesWritten: number;
}

/** One mutating flash operation, as the host replays it onto the durable flash. */
export type JournalOp =
  | { t: "open"; id: number; path: string; truncate: boolean }
  | { t: "write"; id: number; pos: number; data: Uint8Array }
  | { t: "close"; id: number }
  | { t: "rename"; from: string; to: string }
  | { t: "unlink"; path: string }
  | { t: "mkdir"; path: string }
  | { t: "rmdir"; path: string }
  | { t: "truncate"; path: string; length: number };

export type WorkerMessage =
  | { type: "ready" }
  /** A journaled operation, with the boot's flash counters so far (kept if the worker must be killed). */
  | { type: "op"; op: JournalOp; counters: FlashCounters }
  | { type: "out"; text: string }
  | {
      type: "done";
      end: BootEnd;
      ops: number;
      bytesRead: number;
      bytesWritten: number;
      heapAllocated: number;
      clockMs: number;
      /** machine.WDT().feed() calls during the boot. */
      wdtFeeds?: number;
      /** The first host the board tried to reach although the device has no network (net: false). */
      netOff?: string;
      /** Socket bytes (in + out) each link carried. */
      linkBytes: Record<LinkName, number>;
      /** The AT commands the modem received. */
      modemCommands: string[];
    };

export type HostMessage = { type: "boot"; job: BootJob };

/** Shared board state: the host watches the watchdog and the virtual clock of a running boot. */
export const BOARD = {
  /** Float64 slots */
  CLOCK_OFFSET: 0, // virtual ms gained by skipped sleeps
  WDT_DEADLINE: 1, // virtual ms at which the watchdog fires (0 = not armed)
  BOOT_REAL_START: 2, // host Date.now() when the boot started
  BOOT_CLOCK: 3, // virtual clock (ms since epoch) when the boot started
  RTC_OFFSET: 4, // ms the calendar clock was set ahead of the virtual clock (machine.RTC, ntptime)
  SLOTS: 5,
} as const;

/** Socket bridge header (Int32 slots) followed by the data area. */
export const NET = {
  STATE: 0,
  OP: 1,
  SID: 2,
  A0: 3,
  A1: 4,
  LEN: 5,
  RES: 6,
  SEQ: 7,
  HEADER_BYTES: 64,
  DATA_BYTES: 64 * 1024,
} as const;

export const NET_STATE = { IDLE: 0, REQUEST: 1, DONE: 2 } as const;

export const NET_OP = {
  RESOLVE: 1,
  SOCKET: 2,
  CONNECT: 3,
  SEND: 4,
  RECV: 5,
  CLOSE: 6,
  TLS: 7,
} as const;

/** Result codes of NET_OP.TLS besides 0 (ok) and -errno. */
export const TLS_RESULT = { VERIFY_FAILED: 1, HANDSHAKE_FAILED: 2 } as const;

/** DNS failure as an ESP32 reports it from getaddrinfo. */
export const EAI_FAIL = -202;

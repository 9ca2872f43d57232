/**
 * Emscripten's file system reports WASI errno numbers (ENOENT=44), but MicroPython code compares with
 * `errno.ENOENT == 2` (folded to a constant at compile time). Boards use Linux numbers, so the virtual
 * device translates at the syscall boundary.
 */

/** WASI errno -> Linux errno, indexed by the WASI number (wasi_snapshot_preview1 order). */
const WASI_TO_LINUX = [
  0, 7, 13, 98, 99, 97, 11, 114, 9, 74, 16, 125, 10, 103, 111, 104, 35, 89, 33, 122, 17, 14, 27, 113, 43, 84,
  115, 4, 22, 5, 106, 21, 40, 24, 31, 90, 72, 36, 100, 102, 101, 23, 105, 19, 2, 8, 37, 67, 12, 42, 92, 28,
  38, 107, 20, 39, 131, 88, 95, 25, 6, 75, 130, 1, 32, 71, 93, 91, 34, 30, 29, 3, 116, 110, 26, 18, 1,
];

export function linuxErrno(wasi: number): number {
  return WASI_TO_LINUX[wasi] ?? wasi;
}

/** The WASI numbers the flash model throws to inject faults (translated to Linux on the way out). */
export const WASI = { EIO: 29, ENOSPC: 51, ENOENT: 44 } as const;

/** Linux errno values the board shims hand to Python. */
export const LINUX = {
  EPERM: 1,
  ENOENT: 2,
  EIO: 5,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EEXIST: 17,
  EINVAL: 22,
  ENOSPC: 28,
  EPIPE: 32,
  ECONNABORTED: 103,
  ECONNRESET: 104,
  ENOTCONN: 107,
  ETIMEDOUT: 110,
  ECONNREFUSED: 111,
  EHOSTUNREACH: 113,
  EINPROGRESS: 115,
} as const;

type AnyFn = (...args: unknown[]) => unknown;

/**
 * Wraps the wasm imports so that `__syscall_*` (which return -errno) and the WASI `fd_*` calls
 * (which return errno) hand Linux numbers to MicroPython.
 */
export function translateErrnoImports(imports: Record<string, unknown>): Record<string, unknown> {
  const wrapped: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(imports)) {
    if (typeof value !== "function") {
      wrapped[name] = value;
    } else if (name.startsWith("__syscall_")) {
      const fn = value as AnyFn;
      wrapped[name] = (...args: unknown[]) => {
        const r = fn(...args);
        return typeof r === "number" && r < 0 && r > -4096 ? -linuxErrno(-r) : r;
      };
    } else if (name.startsWith("fd_")) {
      const fn = value as AnyFn;
      wrapped[name] = (...args: unknown[]) => {
        const r = fn(...args);
        return typeof r === "number" && r > 0 ? linuxErrno(r) : r;
      };
    } else {
      wrapped[name] = value;
    }
  }
  return wrapped;
}

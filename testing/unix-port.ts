/**
 * Test support: boots a board folder on a real MicroPython binary, the unix port (built 32-bit in
 * ../shared/tools/micropython-unix-x86/, so objects are the size they are on an ESP32 or an RP2040),
 * with its GC heap capped by `-X heapsize`. The folder is mounted as `/` inside the interpreter; the
 * board modules (`machine`, `network`) are stand-ins imported before that; `machine.reset()` ends the
 * process with RESET_EXIT and the caller boots the folder again. Used by `mpota bench heap` and the
 * real-interpreter stories (`npm run test:unix`).
 */
import { execFile } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { decodeStateRecord, STATE_COPIES, type StateRecord } from "../src/client/state-record.ts";

/** The exit code of machine.reset() (and soft_reset()) on the unix port. */
export const RESET_EXIT = 42;

const MACHINE_PY = `# Stand-in for a board's machine module: the unix port's own, plus what boards have.
from umachine import *
import sys

PWRON_RESET = 1
HARD_RESET = 2
WDT_RESET = 3
SOFT_RESET = 5


def reset():
    sys.exit(${RESET_EXIT})


def soft_reset():
    sys.exit(${RESET_EXIT})


def reset_cause():
    return PWRON_RESET


def unique_id():
    return b"\\x24\\x6f\\x28\\x01\\x02\\x03"


class WDT:
    def __init__(self, id=0, timeout=5000):
        pass

    def feed(self):
        pass


def __getattr__(name):
    # Pin, ADC, ...: from the board folder's /lib/machine_field.py, for boards in the field (bench heap)
    import machine_field

    return getattr(machine_field, name)
`;

const NETWORK_PY = `# Stand-in for a board's network module: a station that is connected from power-on.
STA_IF = 0
AP_IF = 1


class WLAN:
    def __init__(self, interface=STA_IF):
        pass

    def active(self, on=None):
        return True

    def isconnected(self):
        return True

    def connect(self, ssid=None, password=None):
        pass

    def ifconfig(self, *args):
        return ("127.0.0.1", "255.0.0.0", "127.0.0.1", "127.0.0.1")
`;

// The unix port's VfsPosix (v1.27) builds both paths of rename() in one buffer, so renaming between
// two absolute paths under a mounted root fails: rename relative to the root instead.
const OS_PY = `from uos import *
import uos


def _rel(path):
    if path[:1] != "/":
        path = getcwd().rstrip("/") + "/" + path
    return path.lstrip("/")


def rename(old, new):
    here = getcwd()
    old = _rel(old)
    new = _rel(new)
    chdir("/")
    try:
        uos.rename(old, new)
    finally:
        chdir(here)
`;

// Boots the folder argv[1] as a board does: its /boot.py runs as __main__ (the mpota loader runs the
// slot's main.py). The stand-ins are imported first: once the folder is `/`, MICROPYPATH is gone.
const RUNNER_PY = `import sys
import os
import machine
import network

os.umount("/")
os.mount(os.VfsPosix(sys.argv[1]), "/")
os.chdir("/")
sys.path[:] = ["", "/lib"]
with open("/boot.py") as f:
    code = compile(f.read(), "/boot.py", "exec")
exec(code)
`;

let support: string | undefined;

/** The folder with runner.py and the stand-in modules (written once per process). */
function supportDir(): string {
  if (!support) {
    support = mkdtempSync(join(tmpdir(), "mpota-unixport-"));
    writeFileSync(join(support, "runner.py"), RUNNER_PY);
    mkdirSync(join(support, "modules"));
    writeFileSync(join(support, "modules", "machine.py"), MACHINE_PY);
    writeFileSync(join(support, "modules", "network.py"), NETWORK_PY);
    writeFileSync(join(support, "modules", "os.py"), OS_PY);
    process.once("exit", () => rmSync(support!, { recursive: true, force: true }));
  }
  return support;
}

export interface UnixBoot {
  /** The exit code (RESET_EXIT after machine.reset()), null when killed. */
  code: number | null;
  output: string;
  /** The run ran out of heap somewhere (a MemoryError was printed, caught or not). */
  memoryError: boolean;
  timedOut: boolean;
}

/**
 * One boot of the board folder `board` on `binary`, with `heapKB` of GC heap (default: the binary's
 * default). `script` (MicroPython source) runs instead of the boot (for measurements).
 */
export function bootUnixPort(
  binary: string,
  board: string,
  options: { heapKB?: number; timeoutMs?: number; script?: string } = {},
): Promise<UnixBoot> {
  const dir = supportDir();
  let runner = join(dir, "runner.py");
  if (options.script !== undefined) {
    runner = join(mkdtempSync(join(dir, "script-")), "script.py");
    writeFileSync(runner, RUNNER_PY.slice(0, RUNNER_PY.indexOf("with open")) + options.script);
  }
  const args = [...(options.heapKB ? ["-X", `heapsize=${options.heapKB}K`] : []), runner, board];
  return new Promise((resolve) => {
    execFile(
      binary,
      args,
      {
        env: { MICROPYPATH: join(dir, "modules"), PATH: process.env.PATH ?? "" },
        timeout: options.timeoutMs ?? 120_000,
        maxBuffer: 1 << 24,
      },
      (error, stdout, stderr) => {
        const output = `${stdout}${stderr}`;
        const code = error ? (typeof error.code === "number" ? error.code : null) : 0;
        if (options.script !== undefined) rmSync(dirname(runner), { recursive: true, force: true });
        resolve({
          code,
          output,
          memoryError: output.includes("MemoryError") || output.includes("memory allocation failed"),
          timedOut: error?.killed === true,
        });
      },
    );
  });
}

/** Writes a flash tree (device paths -> bytes; "dir/" entries are folders) into a new folder. */
export function writeBoard(files: Record<string, Uint8Array | string>, dir?: string): string {
  const out = dir ?? mkdtempSync(join(tmpdir(), "mpota-board-"));
  for (const [path, data] of Object.entries(files)) {
    const full = join(out, path);
    if (path.endsWith("/")) {
      mkdirSync(full, { recursive: true });
      continue;
    }
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, data);
  }
  mkdirSync(join(out, "data"), { recursive: true });
  return out;
}

/** A copy of a board folder (to run one scenario many times from the same flash). */
export function copyBoard(board: string): string {
  const out = mkdtempSync(join(tmpdir(), "mpota-board-"));
  cpSync(board, out, { recursive: true });
  return out;
}

/** The state record the loader would act on in a board folder. */
export function boardState(board: string): StateRecord | undefined {
  let best: StateRecord | undefined;
  for (const path of STATE_COPIES) {
    let bytes: Uint8Array | undefined;
    try {
      bytes = readFileSync(join(board, path));
    } catch {
      bytes = undefined;
    }
    const record = decodeStateRecord(bytes);
    if (record && (!best || record.seq > best.seq)) best = record;
  }
  return best;
}

/** Leaves a one-shot command for the app (COMMAND_PY style: /data/cmd). */
export function leaveCommand(board: string, cmd: string): void {
  writeFileSync(join(board, "data", "cmd"), cmd);
}

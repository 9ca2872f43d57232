/** The demo's virtual board: one run (boot, the app, any resets), and mpota.status() asked afterwards. */
import pc from "picocolors";
import { type RunResult, VirtualDevice } from "../sim/index.ts";

export interface BoardRun {
  /** The app versions that started, in order (the app prints "greenhouse V starting on …"). */
  started: string[];
  result: RunResult;
}

export interface BoardStatus {
  version: string;
  state: "good" | "trial";
  failed: string | null;
  why: string | null;
  last_error: { code: string; message: string } | null;
}

/** The prefix of every line the board prints. */
const boardLine = (line: string) => pc.dim(`  board │ ${line}`);

/** A board running the flash `files`, with its network on (it reaches 127.0.0.1). */
export function demoBoard(files: Record<string, Uint8Array>): VirtualDevice {
  return new VirtualDevice({ files, net: true });
}

/** Powers the board on and lets it run until the app returns, printing what it prints. */
export async function runBoard(device: VirtualDevice, say: (line: string) => void): Promise<BoardRun> {
  const started: string[] = [];
  const result = await device.run({
    timeoutMs: 30_000,
    onOutput: (line) => {
      const start = /^greenhouse (\S+) starting on/.exec(line);
      if (start) started.push(start[1]!);
      say(boardLine(line));
    },
  });
  return { started, result };
}

// What a maker types at the board's REPL after the run: mpota from the slot that runs, and its status.
const STATUS = `import sys, json
sys.path.insert(0, "/")
import boot
sys.path.insert(0, "/.mpota/slot%d/lib" % boot.read_state()["slot"])
import mpota
print(json.dumps(mpota.status()))
`;

/** `mpota.status()` on the board, as its REPL answers it. */
export async function boardStatus(device: VirtualDevice): Promise<BoardStatus> {
  const result = await device.run({ script: STATUS, boot: false, timeoutMs: 10_000 });
  const last = result.output.trim().split("\n").pop() ?? "";
  if (!result.ok || !last.startsWith("{"))
    throw new Error(`mpota.status() failed on the board: ${result.error ?? last}`);
  const status = JSON.parse(last) as BoardStatus & { ok: boolean };
  if (!status.ok) throw new Error(`mpota.status() failed on the board: ${last}`);
  return status;
}

/** `mpota demo`: the example app on a virtual board, told in plain words. */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import pc from "picocolors";
import { VirtualDevice } from "../sim/index.ts";

export const EXAMPLE_APP = fileURLToPath(new URL("../../examples/greenhouse", import.meta.url));

/** The example app as a flash tree rooted at `prefix`. */
export function exampleAppTree(prefix = ""): Record<string, Uint8Array> {
  const tree: Record<string, Uint8Array> = {};
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const full = join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else tree[prefix + relative(EXAMPLE_APP, full)] = readFileSync(full);
    }
  };
  walk(EXAMPLE_APP);
  return tree;
}

export async function runDemo(say: (line: string) => void): Promise<void> {
  say(pc.bold("mpota demo: a MicroPython board, simulated on this machine"));
  say("Booting a virtual board (the real MicroPython 1.27 interpreter) with the greenhouse example app…");
  const device = new VirtualDevice({ files: exampleAppTree() });
  try {
    const result = await device.run({ onOutput: (line) => say(pc.dim(`  board │ ${line}`)) });
    const log = device.readText("data/readings.csv") ?? "";
    say(
      result.ok
        ? `The app ran to the end: ${log.trim().split("\n").length} readings logged to /data/readings.csv ` +
            `(${result.flashOps} flash operations, ${result.heapAllocated} bytes of heap allocated).`
        : pc.red(`The app stopped with an error: ${result.error}`),
    );
    say("The three one-minute sleeps took no real time: the virtual board has its own clock.");
    if (!result.ok) process.exitCode = 1;
  } finally {
    await device.close();
  }
}

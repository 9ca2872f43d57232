/** `mpota demo`: the example app on a virtual board, told in plain words. */
import pc from "picocolors";
import { VirtualDevice } from "../sim/index.ts";
import { exampleAppTree } from "./example.ts";

export {
  EXAMPLE_APP,
  EXAMPLE_PROJECT,
  type ExampleVariant,
  exampleAppTree,
  exampleMain,
  exampleRelease,
} from "./example.ts";

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

import type { Command } from "commander";
import { CliError } from "../errors.ts";

export function registerDemo(program: Command): void {
  program
    .command("demo")
    .description(
      "show an update end to end on this machine: a virtual board installs a release, then rolls back a broken one",
    )
    .action(async () => {
      const { DemoFailure, runDemo } = await import("../../demo/index.ts");
      try {
        await runDemo((line) => console.log(line));
      } catch (err) {
        if (err instanceof DemoFailure)
          throw new CliError(`the demo did not go as expected: ${err.message}`, 1);
        throw err;
      }
    });
}

import type { Command } from "commander";

export function registerDemo(program: Command): void {
  program
    .command("demo")
    .description(
      "show an update end to end on this machine: a virtual board installs a release, then rolls back a broken one",
    )
    .action(async () => {
      const { runDemo } = await import("../../demo/index.ts");
      // A DemoFailure (the board strayed from the story) exits 1: src/cli/errors.ts.
      await runDemo((line) => console.log(line));
    });
}

import type { Command } from "commander";

export function registerDemo(program: Command): void {
  program
    .command("demo")
    .description("show mpota end to end on this machine, with a virtual device (no hardware needed)")
    .action(async () => {
      const { runDemo } = await import("../../demo/index.ts");
      await runDemo((line) => console.log(line));
    });
}

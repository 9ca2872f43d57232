import type { Command } from "commander";
import { CliError } from "../errors.ts";
import { wholeNumber } from "../options.ts";

export function registerBench(program: Command): void {
  program
    .command("bench")
    .description("run a benchmark and print its figures")
    .argument("<name>", "which benchmark (see --list)")
    .option("--json", "print one JSON object on stdout")
    .option(
      "--nodes <n>",
      "server processes on one PostgreSQL (bench server)",
      wholeNumber("--nodes", 16, 1),
      1,
    )
    .action(async (name: string, opts: { json?: boolean; nodes: number }) => {
      const { benchmarks } = await import("../../../bench/index.ts");
      const entry = benchmarks[name];
      if (!entry) {
        const known = Object.entries(benchmarks)
          .map(([n, b]) => `  ${n}: ${b.describe}`)
          .join("\n");
        throw new CliError(`unknown benchmark "${name}"; known benchmarks:\n${known}`);
      }
      const run = await entry.load();
      const progress = (message: string) => process.stderr.write(`${message}\n`);
      const figures = await run({ progress, nodes: opts.nodes });
      if (opts.json) process.stdout.write(`${JSON.stringify(figures)}\n`);
      else process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
    });
}

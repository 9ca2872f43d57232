import type { Command } from "commander";
import { CliError } from "../errors.ts";
import { wholeNumber } from "../options.ts";

export function registerBench(program: Command): void {
  program
    .command("bench")
    .description("run a benchmark and print its figures")
    .argument("[name]", "which benchmark (see --list)")
    .option("--list", "list the benchmarks and what each measures")
    .option("--json", "print one JSON object on stdout")
    .option(
      "--micropython <path>",
      "a MicroPython unix-port binary, for benchmarks on a real interpreter (heap)",
    )
    .option(
      "--nodes <n>",
      "server processes on one PostgreSQL (bench server)",
      wholeNumber("--nodes", 16, 1),
      1,
    )
    .option(
      "--scenario <names>",
      "only these scenarios, comma-separated (heap: update, check, firstCheck, confirm, rollback, server)",
    )
    .action(
      async (
        name: string | undefined,
        opts: { json?: boolean; list?: boolean; micropython?: string; nodes: number; scenario?: string },
      ) => {
        const { benchmarks } = await import("../../../bench/index.ts");
        const known = Object.entries(benchmarks)
          .map(([n, b]) => `  ${n}: ${b.describe}`)
          .join("\n");
        if (opts.list) {
          process.stdout.write(`${known}\n`);
          return;
        }
        if (name === undefined) throw new CliError("name a benchmark (`npx mpota bench --list` lists them)");
        const entry = benchmarks[name];
        if (!entry)
          throw new CliError(
            `unknown benchmark "${name}"; known: ${Object.keys(benchmarks).join(", ")} (--list says what each measures)`,
          );
        const run = await entry.load();
        const progress = (message: string) => process.stderr.write(`${message}\n`);
        const figures = await run({
          progress,
          micropython: opts.micropython,
          nodes: opts.nodes,
          scenarios: opts.scenario?.split(",").map((s) => s.trim()),
        });
        if (opts.json) process.stdout.write(`${JSON.stringify(figures)}\n`);
        else process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
      },
    );
}

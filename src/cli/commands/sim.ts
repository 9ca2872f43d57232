import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { type Command, Option } from "commander";
import { CliError } from "../errors.ts";
import { wholeNumber } from "../options.ts";

interface SimRunOptions {
  fs: string;
  net?: boolean;
  flash: "torn" | "commit-on-close";
  cutAt?: number;
  flashSize?: number;
  reboots: number;
  timeout: number;
  json?: boolean;
  dryRun?: boolean;
}

export function registerSim(program: Command): void {
  const sim = program.command("sim").description("the virtual MicroPython device");
  sim
    .command("run")
    .description(
      "boot a virtual device from a folder (boot.py, then main.py or SCRIPT.py) and write back what it changed",
    )
    .argument("[script]", "Python file to run after boot.py instead of main.py")
    .requiredOption("--fs <dir>", "folder holding the device's flash")
    .option("--net", "give the device network access (loopback)")
    .addOption(
      new Option("--flash <model>", "durability model at a power cut")
        .choices(["torn", "commit-on-close"])
        .default("torn"),
    )
    .option("--cut-at <n>", "cut the power before mutating flash operation N", wholeNumber("--cut-at"))
    .option("--flash-size <bytes>", "flash capacity (ENOSPC past it)", wholeNumber("--flash-size"))
    .option("--reboots <n>", "stop after N reboots", wholeNumber("--reboots"), 10)
    .option("--timeout <seconds>", "stop after this many seconds", wholeNumber("--timeout"), 60)
    .option("--json", "end with one JSON line of figures")
    .option("--dry-run", "do not write the flash back to --fs")
    .action(async (script: string | undefined, opts: SimRunOptions) => {
      if (!existsSync(opts.fs) || !statSync(opts.fs).isDirectory()) {
        throw new CliError(`--fs ${opts.fs}: no such folder`);
      }
      if (script !== undefined && !existsSync(script)) throw new CliError(`${script}: no such file`);
      if (script === undefined && !["boot.py", "main.py"].some((f) => existsSync(join(opts.fs, f))))
        throw new CliError(
          `--fs ${opts.fs} has neither boot.py nor main.py, so the board would run nothing; ` +
            "give a board's folder (`npx mpota device bundle --out DIR` makes one) or a SCRIPT.py to run",
        );
      const { VirtualDevice, loadTree, writeBackTree } = await import("../../sim/index.ts");
      const before = loadTree(opts.fs);
      const device = new VirtualDevice({
        files: before,
        net: opts.net === true,
        flash: { model: opts.flash, cutAt: opts.cutAt, sizeBytes: opts.flashSize },
      });
      try {
        const result = await device.run({
          script: script === undefined ? undefined : readFileSync(script, "utf8"),
          maxReboots: opts.reboots,
          timeoutMs: opts.timeout * 1000,
          onOutput: (line) => console.log(line),
        });
        if (!opts.dryRun) writeBackTree(opts.fs, before, device.files());
        const { ok, reboots, flashOps, flashBytesWritten, netBytesIn, netBytesOut, heapAllocated, error } =
          result;
        if (opts.json) {
          const figures = {
            ok,
            reboots,
            flashOps,
            flashBytesWritten,
            netBytesIn,
            netBytesOut,
            heapAllocated,
          };
          console.log(JSON.stringify({ ...figures, error: error ?? null }));
        } else if (!ok) {
          console.error(`device stopped: ${error ?? result.end}`);
        }
        if (!ok) process.exitCode = 1;
        if (result.netOff !== undefined)
          console.error(
            `mpota: the board tried to reach ${result.netOff}, but the virtual device has no network: add --net`,
          );
      } finally {
        await device.close();
      }
    });
}

import type { Command } from "commander";
import { registerBench } from "./bench.ts";
import { registerDeviceBundle } from "./bundle.ts";
import { registerConfig } from "./config.ts";
import { registerDemo } from "./demo.ts";
import { registerSim } from "./sim.ts";

/** Every `mpota` command; each file registers one command (heavy imports stay inside its action). */
export const commands: Array<(program: Command) => void> = [
  registerBench,
  registerConfig,
  registerDemo,
  registerSim,
  // TEMPORARY (device-core): `mpota device bundle` until src/cli/commands/device.ts registers it.
  (program) => registerDeviceBundle(program.command("device").description("set up and manage boards")),
];

import type { Command } from "commander";
import { registerBench } from "./bench.ts";
import { registerDeviceBundle } from "./bundle.ts";
import { registerConfig } from "./config.ts";
import { registerDemo } from "./demo.ts";
import { registerDevice } from "./device.ts";
import { registerKeygen } from "./keygen.ts";
import { registerProject } from "./project.ts";
import { registerPublish } from "./publish.ts";
import { registerRelease } from "./release.ts";
import { registerRollout } from "./rollout.ts";
import { registerServe } from "./serve.ts";
import { registerSim } from "./sim.ts";

/** Every `mpota` command; each file registers one command (heavy imports stay inside its action). */
export const commands: Array<(program: Command) => void> = [
  registerBench,
  registerConfig,
  registerDemo,
  registerSim,
  (program) => void registerDevice(program, registerDeviceBundle),
  registerProject,
  registerRollout,
  registerServe,
  registerKeygen,
  registerRelease,
  registerPublish,
];

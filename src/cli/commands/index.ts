import type { Command } from "commander";
import { registerBench } from "./bench.ts";
import { registerDemo } from "./demo.ts";
import { registerSim } from "./sim.ts";

/** Every `mpota` command; each file registers one command (heavy imports stay inside its action). */
export const commands: Array<(program: Command) => void> = [registerBench, registerDemo, registerSim];

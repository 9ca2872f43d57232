/** The example app the benchmarks update (examples/greenhouse), as a flash tree. */
import { fileURLToPath } from "node:url";
import { loadTree } from "../src/sim/index.ts";

export const EXAMPLE = fileURLToPath(new URL("../examples/greenhouse/", import.meta.url));

export function exampleTree(): Record<string, Uint8Array> {
  return loadTree(EXAMPLE);
}

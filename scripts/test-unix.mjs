#!/usr/bin/env node
// `npm run test:unix -- --micropython PATH`: runs the device stories (src/**/*.stories.ts) on the
// MicroPython unix-port binary at PATH (e.g. ../shared/tools/micropython-unix-x86/micropython).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { resolve } from "node:path";

const at = process.argv.indexOf("--micropython");
const binary = at > 0 ? process.argv[at + 1] : undefined;
if (!binary) {
  process.stderr.write("mpota: test:unix needs --micropython PATH (a MicroPython unix-port binary)\n");
  process.exit(2);
}
if (!existsSync(binary)) {
  process.stderr.write(`mpota: --micropython ${binary}: no such file\n`);
  process.exit(2);
}
const result = spawnSync("npx", ["vitest", "run", "--config", "vitest.unix.config.ts"], {
  stdio: "inherit",
  env: { ...process.env, MPOTA_MICROPYTHON: resolve(binary) },
});
process.exit(result.status ?? 1);

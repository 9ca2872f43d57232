/**
 * Device workers run plain JavaScript: the worker code is bundled once per process with esbuild (a
 * TypeScript loader in every worker would cost a loader thread per device).
 */
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildSync } from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
let bundled: string | undefined;
let firmware: Record<string, string> | undefined;

export function workerScript(): string {
  if (bundled) return bundled;
  const result = buildSync({
    entryPoints: [join(here, "worker", "main.ts")],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    write: false,
    logLevel: "silent",
  });
  const code = result.outputFiles[0]!.text;
  const hash = createHash("sha256").update(code).digest("hex").slice(0, 16);
  const dir = join(tmpdir(), "mpota-sim");
  const path = join(dir, `device-worker-${hash}.mjs`);
  mkdirSync(dir, { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, code);
  renameSync(tmp, path);
  bundled = path;
  return path;
}

/** The firmware's Python modules (socket, machine, …), which live outside the device's flash. */
export function firmwareModules(): Record<string, string> {
  if (firmware) return firmware;
  const dir = join(here, "python");
  const modules: Record<string, string> = {};
  for (const name of readdirSync(dir))
    if (name.endsWith(".py")) modules[name] = readFileSync(join(dir, name), "utf8");
  firmware = modules;
  return modules;
}

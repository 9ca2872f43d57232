/**
 * The MicroPython WebAssembly glue keeps each interpreter's state on `globalThis` (Module, proxy_js_*),
 * so two interpreters in one realm corrupt each other, and a dead interpreter's finalizers can reach a
 * live one. We rewrite the glue once into a factory: every call of `createLoader()` gets its own copy of
 * that state in a closure, and the compiled wasm is instantiated through a hook that translates errno
 * values and hands us the wasm memory.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);
const PACKAGE = "@micropython/micropython-webassembly-pyscript";

/** Per-interpreter globals of the upstream glue, turned into closure variables. */
const GLUE_GLOBALS = [
  "proxy_js_ref_next",
  "proxy_js_ref_map",
  "proxy_js_ref",
  "proxy_js_map",
  "proxy_js_existing",
  "pyProxyFinalizationRegistry",
];

/** Each rewrite must match exactly this often, so that a new MicroPython release fails loudly here. */
const REWRITES: Array<{ from: string | RegExp; to: string; count: number }> = [
  { from: "export default _createMicroPythonModule;", to: "", count: 1 },
  { from: "export async function loadMicroPython(", to: "async function loadMicroPython(", count: 1 },
  { from: "globalThis.Module=Module", to: "__setModule(Module)", count: 1 },
  {
    from: "let Module={locateFile:",
    to: "let Module={instantiateWasm:__instantiateWasm,locateFile:",
    count: 1,
  },
  // The glue runs a REPL when it is the process's main script; never in a device.
  {
    from: 'if(globalThis.loadMicroPython=loadMicroPython,"object"==typeof process&&',
    to: "if(false&&",
    count: 1,
  },
  { from: new RegExp(`globalThis\\.(${GLUE_GLOBALS.join("|")})\\b`, "g"), to: "$1", count: 18 },
];

function rewriteGlue(source: string): string {
  let out = source;
  for (const { from, to, count } of REWRITES) {
    const pattern = typeof from === "string" ? new RegExp(escapeRegExp(from), "g") : from;
    const found = out.match(pattern)?.length ?? 0;
    if (found !== count) {
      throw new Error(`MicroPython glue rewrite: expected ${count} match(es) of ${pattern}, found ${found}`);
    }
    out = out.replace(pattern, to);
  }
  return [
    "export async function createLoader(__instantiateWasm) {",
    `let Module; let ${GLUE_GLOBALS.join(", ")};`,
    "const __setModule = (m) => { Module = m; };",
    out,
    "return loadMicroPython;",
    "}",
  ].join("\n");
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

export interface GlueFiles {
  /** Path of the rewritten glue module exporting `createLoader(instantiateWasm)`. */
  factoryPath: string;
  /** Path of micropython.wasm. */
  wasmPath: string;
}

let cached: GlueFiles | undefined;

/** Writes the factory module next to the other caches (once per content hash) and returns the paths. */
export function glueFiles(): GlueFiles {
  if (cached) return cached;
  const gluePath = require.resolve(`${PACKAGE}/micropython.mjs`);
  const wasmPath = join(dirname(gluePath), "micropython.wasm");
  const factory = rewriteGlue(readFileSync(gluePath, "utf8"));
  const hash = createHash("sha256").update(factory).digest("hex").slice(0, 16);
  const dir = join(tmpdir(), "mpota-sim");
  const factoryPath = join(dir, `micropython-factory-${hash}.mjs`);
  mkdirSync(dir, { recursive: true });
  const tmp = `${factoryPath}.${process.pid}.tmp`;
  writeFileSync(tmp, factory);
  renameSync(tmp, factoryPath);
  cached = { factoryPath, wasmPath };
  return cached;
}

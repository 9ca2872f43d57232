/**
 * .py -> .mpy with mpy-cross compiled to WebAssembly (npm @pybricks/mpy-cross-v6 2.0.0: MicroPython
 * v1.19's mpy-cross, .mpy format 6). Bytecode .mpy files of format 6 load on MicroPython 1.19 and every
 * later release to date (1.20-1.27 only raised the sub-version, which concerns native code), so on
 * every board mpota supports (>= 1.22, for the deflate module).
 *
 * The package's own `compile()` makes Node fetch() the .wasm by file path, which Node 20 refuses; this
 * module drives the same Emscripten program with the wasm module compiled once and reused.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { MpotaError } from "../errors/index.ts";

const require = createRequire(import.meta.url);

/** The first bytes of every .mpy this compiler makes: "M", format 6, no native arch, 31-bit small ints. */
export const MPY_HEADER = Uint8Array.of(0x4d, 6, 0, 31);

/** A module mpy-cross refuses (its message: file, line, error), or a compiler that cannot run. */
export class MpyError extends MpotaError {
  constructor(message: string) {
    super("mpy", message);
  }
}

type Factory = (options: Record<string, unknown>) => unknown;
let program: { factory: Factory; wasm: Promise<WebAssembly.Module> } | undefined;

function load(): { factory: Factory; wasm: Promise<WebAssembly.Module> } {
  if (!program) {
    const dir = require.resolve("@pybricks/mpy-cross-v6/build/mpy-cross-v6.js").replace(/[^/\\]+$/, "");
    program = {
      factory: require("@pybricks/mpy-cross-v6/build/mpy-cross-v6.js") as Factory,
      wasm: WebAssembly.compile(readFileSync(`${dir}mpy-cross-v6.wasm`)),
    };
  }
  return program;
}

/**
 * Compiles one module. `path` is the file's path in the release (kept in the .mpy for tracebacks).
 * Throws MpyError with mpy-cross's message (file, line, error) when the source does not compile.
 */
export async function compileMpy(path: string, source: string | Uint8Array): Promise<Uint8Array> {
  const { factory } = load();
  const wasm = await load().wasm;
  const text = typeof source === "string" ? source : new TextDecoder().decode(source);
  // The Emscripten program hooks process-wide error handlers each time it starts; undo that.
  const before = new Set([
    ...process.listeners("uncaughtException"),
    ...process.listeners("unhandledRejection"),
  ]);
  return new Promise<Uint8Array>((resolve, reject) => {
    factory({
      arguments: ["-s", path, "module.py"],
      inputFileContents: text,
      instantiateWasm: (imports: WebAssembly.Imports, done: (instance: WebAssembly.Instance) => void) => {
        WebAssembly.instantiate(wasm, imports).then(done, reject);
        return {};
      },
      callback: (status: number, mpy: Uint8Array | undefined, out: string[], err: string[]) => {
        if (status === 0 && mpy) resolve(new Uint8Array(mpy));
        else
          reject(
            new MpyError(
              `${path} does not compile: ${[...err, ...out].join(" ").replaceAll('"module.py"', JSON.stringify(path)).trim() || `mpy-cross exit ${status}`}`,
            ),
          );
      },
    });
  }).finally(() => {
    for (const listener of process.listeners("uncaughtException"))
      if (!before.has(listener)) process.removeListener("uncaughtException", listener);
    for (const listener of process.listeners("unhandledRejection"))
      if (!before.has(listener)) process.removeListener("unhandledRejection", listener);
  });
}

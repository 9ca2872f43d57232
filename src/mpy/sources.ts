/**
 * `mpota release --mpy`: the release's .py modules compiled to .mpy as they are read (main.py, boot.py,
 * hooks and --keep-py patterns stay source). `mpySources` is the `transform` of src/release;
 * `compileTree` does the same to a tree in memory.
 */
import type { SourceFile } from "../release/index.ts";
import { compileMpy, MpyError } from "./compile.ts";
import { type MpyTreeOptions, modulesToCompile } from "./tree.ts";

export function mpySources(options: MpyTreeOptions = {}): (files: SourceFile[]) => Promise<SourceFile[]> {
  return async (files) => {
    const compile = new Set(
      modulesToCompile(
        files.map((f) => f.path),
        options,
      ),
    );
    const paths = new Set(files.map((f) => f.path));
    const out: SourceFile[] = [];
    for (const file of files) {
      if (!compile.has(file.path)) {
        out.push(file);
        continue;
      }
      const path = `${file.path.slice(0, -3)}.mpy`;
      if (paths.has(path)) throw new MpyError(`${file.path} and ${path} are both in the release; remove one`);
      const mpy = Buffer.from(await compileMpy(file.path, file.read()));
      out.push({ path, read: () => mpy }); // no git_sha1: the bytes are not the repository's blob
    }
    return out;
  };
}

/** The tree with the chosen modules replaced by `<name>.mpy`; refuses a tree that has both. */
export async function compileTree(
  files: Readonly<Record<string, Uint8Array>>,
  options: MpyTreeOptions = {},
): Promise<Record<string, Uint8Array>> {
  const sources = Object.entries(files).map(([path, data]) => ({ path, read: () => Buffer.from(data) }));
  const out = await mpySources(options)(sources);
  return Object.fromEntries(out.map((f) => [f.path, new Uint8Array(f.read())]));
}

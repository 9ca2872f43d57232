/** Moving a virtual device's flash to and from a folder on the host. */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import type { FlashTree } from "./flash.ts";

/** Reads a host folder as a flash tree (empty folders kept as "dir/"). */
export function loadTree(dir: string): Record<string, Uint8Array> {
  const tree: Record<string, Uint8Array> = {};
  const walk = (path: string) => {
    const entries = readdirSync(path, { withFileTypes: true });
    if (entries.length === 0 && path !== dir) tree[`${relative(dir, path)}/`] = new Uint8Array(0);
    for (const entry of entries) {
      const full = join(path, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) tree[relative(dir, full)] = readFileSync(full);
    }
  };
  walk(dir);
  return tree;
}

/** Makes a host folder hold exactly this flash tree. */
export function saveTree(dir: string, tree: FlashTree): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const [path, content] of Object.entries(tree)) {
    const full = join(dir, path);
    if (path.endsWith("/")) {
      mkdirSync(full, { recursive: true });
      continue;
    }
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, content);
  }
}

/** Moving a virtual device's flash to and from a folder on the host. */
import { randomBytes } from "node:crypto";
import {
  cpSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import type { FlashTree } from "./flash.ts";

/** Reads a host folder as a flash tree (empty folders kept as "dir/"; links to files read through). */
export function loadTree(dir: string): Record<string, Uint8Array> {
  const tree: Record<string, Uint8Array> = {};
  const walk = (path: string) => {
    const entries = readdirSync(path, { withFileTypes: true });
    if (entries.length === 0 && path !== dir) tree[`${relative(dir, path)}/`] = new Uint8Array(0);
    for (const entry of entries) {
      const full = join(path, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (
        entry.isFile() ||
        (entry.isSymbolicLink() && statSync(full, { throwIfNoEntry: false })?.isFile())
      )
        tree[relative(dir, full)] = readFileSync(full);
    }
  };
  walk(dir);
  return tree;
}

const bytesOf = (data: Uint8Array | string) => (typeof data === "string" ? Buffer.from(data) : data);

/** Every folder a tree holds: the parents of its paths and its "dir/" entries. */
function folders(tree: FlashTree): Set<string> {
  const found = new Set<string>();
  for (const path of Object.keys(tree))
    for (let d = path.endsWith("/") ? path.slice(0, -1) : dirname(path); d !== "."; d = dirname(d))
      found.add(d);
  return found;
}

/**
 * Writes back to a host folder what the board changed between `before` (what loadTree read) and
 * `after`: new and changed files, removed files and folders; nothing else is touched, so the files
 * the board left alone keep their symbolic links and modes. The changes are made in a copy of the
 * folder that then takes its place: if the write-back fails, the folder is as it was. Returns the
 * number of paths changed (0: the folder was not touched).
 */
export function writeBackTree(dir: string, before: FlashTree, after: FlashTree): number {
  const isFile = (path: string) => !path.endsWith("/");
  const changed = Object.keys(after).filter(
    (p) => isFile(p) && !(p in before && Buffer.from(bytesOf(before[p]!)).equals(bytesOf(after[p]!))),
  );
  const removed = Object.keys(before).filter((p) => isFile(p) && !(p in after));
  const [had, has] = [folders(before), folders(after)];
  const goneFolders = [...had].filter((d) => !has.has(d)).sort((a, b) => b.length - a.length);
  const newFolders = [...has].filter((d) => !had.has(d));
  const count = changed.length + removed.length + goneFolders.length + newFolders.length;
  if (count === 0) return 0;

  const target = resolve(dir);
  const aside = (what: string) =>
    join(dirname(target), `.${basename(target)}.mpota-${what}-${randomBytes(4).toString("hex")}`);
  const next = aside("new");
  try {
    cpSync(target, next, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
    for (const path of removed) rmSync(join(next, path), { force: true });
    for (const folder of goneFolders) rmSync(join(next, folder), { recursive: true, force: true });
    for (const folder of newFolders) mkdirSync(join(next, folder), { recursive: true });
    for (const path of changed) {
      const file = join(next, path);
      // A changed file that was a link becomes a plain file: never write through a link to outside.
      if (lstatSync(file, { throwIfNoEntry: false })?.isSymbolicLink()) rmSync(file);
      writeFileSync(file, bytesOf(after[path]!));
    }
  } catch (err) {
    rmSync(next, { recursive: true, force: true });
    throw err;
  }
  const old = aside("old");
  renameSync(target, old);
  try {
    renameSync(next, target);
  } catch (err) {
    renameSync(old, target);
    rmSync(next, { recursive: true, force: true });
    throw err;
  }
  rmSync(old, { recursive: true, force: true });
  return count;
}

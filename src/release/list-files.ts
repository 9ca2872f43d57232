/** The files a release is built from: a folder on disk, or a git ref read without a checkout. */
import { spawnSync } from "node:child_process";
import { lstatSync, readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve, sep } from "node:path";
import { pathProblem } from "../manifest/index.ts";
import { ReleaseError } from "./errors.ts";
import type { PathFilter } from "./filter.ts";

export interface SourceFile {
  /** Release path: relative, `/`-separated. */
  path: string;
  read(): Buffer;
  /** Git blob SHA-1, for git sources. */
  gitSha1?: string;
}

function checkPath(path: string, where: string): void {
  const bad = pathProblem(path);
  if (bad)
    throw new ReleaseError(`${where}: the path ${JSON.stringify(path)} ${bad}; leave it out with --ignore`);
}

/**
 * The files below `dir` that `filter` wants, sorted by path. `exclude` holds absolute paths never
 * taken (the store being written, the key file). Symbolic links are refused: a release holds files.
 */
export function listDirFiles(dir: string, filter: PathFilter, exclude: readonly string[] = []): SourceFile[] {
  const root = resolve(dir);
  let rootStat: ReturnType<typeof lstatSync>;
  try {
    rootStat = lstatSync(root);
  } catch {
    throw new ReleaseError(`folder ${dir} does not exist`);
  }
  if (!rootStat.isDirectory()) throw new ReleaseError(`${dir} is not a folder`);
  const skip = new Set(exclude.map((p) => resolve(p)));
  const files: SourceFile[] = [];
  const walk = (abs: string) => {
    for (const name of readdirSync(abs).sort()) {
      const full = join(abs, name);
      if (skip.has(full)) continue;
      const path = relative(root, full).split(sep).join("/");
      const stat = lstatSync(full);
      if (stat.isDirectory()) {
        if (filter.wants(path, true)) walk(full);
      } else if (filter.wants(path)) {
        if (stat.isSymbolicLink())
          throw new ReleaseError(
            `${join(dir, path)} is a symbolic link; a release holds plain files (--ignore it)`,
          );
        if (!stat.isFile()) throw new ReleaseError(`${join(dir, path)} is not a plain file (--ignore it)`);
        checkPath(path, dir);
        files.push({ path, read: () => readFileSync(full) });
      }
    }
  };
  walk(root);
  return files;
}

function git(repo: string, args: string[], input?: string, maxBuffer = 64 * 1024 * 1024): Buffer {
  const result = spawnSync("git", ["-C", repo, ...args], { input, maxBuffer });
  if (result.error) throw new ReleaseError(`cannot run git (${result.error.message})`);
  if (result.status !== 0) {
    const why = result.stderr.toString().trim().split("\n")[0] ?? "";
    throw new ReleaseError(`git ${args[0]} failed in ${repo}: ${why}`);
  }
  return result.stdout;
}

/**
 * The files of `ref` (a commit, tag or branch; below `subdir` when given) in the git repository
 * `repo`, read with `git ls-tree` and `git cat-file --batch`: no checkout, no working tree needed.
 */
export function listGitFiles(repo: string, ref: string, filter: PathFilter, subdir = ""): SourceFile[] {
  if (ref.startsWith("-")) throw new ReleaseError(`git ref ${JSON.stringify(ref)} cannot start with "-"`);
  const folder = subdir.replace(/^(\.\/)+/, "").replace(/\/+$/, "");
  const treeish = folder ? `${ref}:${folder}` : `${ref}^{tree}`;
  const listing = git(repo, ["ls-tree", "-r", "-l", "-z", "--full-tree", treeish]).toString("utf8");
  const entries: Array<{ path: string; sha1: string; size: number }> = [];
  for (const record of listing.split("\0")) {
    if (!record) continue;
    const tab = record.indexOf("\t");
    const [mode, type, sha1, size] = record.slice(0, tab).split(/ +/);
    const path = record.slice(tab + 1);
    if (!filter.wants(path)) continue;
    if (type === "commit")
      throw new ReleaseError(
        `${path} is a git submodule at ${ref}; its files are not in this repository (--ignore it)`,
      );
    if (mode === "120000")
      throw new ReleaseError(
        `${path} is a symbolic link at ${ref}; a release holds plain files (--ignore it)`,
      );
    checkPath(path, `${ref}`);
    entries.push({ path, sha1: sha1 as string, size: Number(size) });
  }
  const total = entries.reduce((sum, e) => sum + e.size + 64, 1024);
  const out = git(repo, ["cat-file", "--batch"], entries.map((e) => `${e.sha1}\n`).join(""), total);
  const files: SourceFile[] = [];
  let at = 0;
  for (const entry of entries) {
    const eol = out.indexOf(0x0a, at);
    const header = out.subarray(at, eol).toString();
    if (header !== `${entry.sha1} blob ${entry.size}`)
      throw new ReleaseError(`git cat-file gave "${header}" for ${entry.path}, expected blob ${entry.sha1}`);
    const data = out.subarray(eol + 1, eol + 1 + entry.size);
    at = eol + 1 + entry.size + 1;
    files.push({ path: entry.path, read: () => data, gitSha1: entry.sha1 });
  }
  return files;
}

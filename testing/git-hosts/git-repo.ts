/**
 * A real local git repository driven through the git CLI: tests commit app trees into it, and the
 * provider emulators read commits, trees and blobs back from it (so every SHA-1 is git's own).
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

export interface TreeEntry {
  path: string;
  /** "100644", "100755", "120000", "040000", "160000" */
  mode: string;
  type: "blob" | "tree" | "commit";
  sha: string;
  /** Bytes of a blob; undefined for trees and submodules. */
  size?: number;
}

export interface CommitInfo {
  sha: string;
  tree: string;
  parents: string[];
  message: string;
  author: { name: string; email: string; date: string };
  committer: { name: string; email: string; date: string };
}

export interface GitRepo {
  dir: string;
  /** Writes `files` (null deletes a file), commits everything on the current branch; returns the commit. */
  commit(files: Record<string, string | Uint8Array | null>, message?: string): string;
  /** Replaces the whole work tree by `files` and commits (renames and deletions included). */
  commitTree(files: Record<string, string | Uint8Array>, message?: string): string;
  tag(name: string, ref?: string): void;
  branch(name: string, ref?: string): void;
  checkout(branch: string): void;
  /** The commit a ref names, or undefined when there is none. */
  resolve(ref: string): string | undefined;
  commitInfo(sha: string): CommitInfo;
  /** The recursive tree of a commit or tree (trees and blobs, sorted by path as git lists them). */
  tree(ref: string, recursive?: boolean): TreeEntry[];
  blob(sha: string): Buffer;
  /** The blob at `path` in `ref`, or undefined. */
  file(ref: string, path: string): Buffer | undefined;
  branches(): Array<{ name: string; sha: string }>;
  tags(): Array<{ name: string; sha: string }>;
  close(): void;
}

const ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: "mpota test",
  GIT_AUTHOR_EMAIL: "test@mpota.invalid",
  GIT_COMMITTER_NAME: "mpota test",
  GIT_COMMITTER_EMAIL: "test@mpota.invalid",
  GIT_CONFIG_NOSYSTEM: "1",
  HOME: tmpdir(),
};

/** A fresh repository on branch `main` in a temporary folder (removed by close()). */
export function createRepo(): GitRepo {
  const dir = mkdtempSync(join(tmpdir(), "mpota-git-"));
  const git = (args: string[], input?: string): Buffer =>
    execFileSync("git", args, { cwd: dir, env: ENV, input, maxBuffer: 64 << 20, stdio: "pipe" });
  const text = (args: string[]) => git(args).toString("utf8").trim();
  git(["init", "-q", "-b", "main"]);
  git(["config", "commit.gpgsign", "false"]);
  // Commit times advance one second per commit from a fixed start: stable SHAs across runs.
  let clock = Date.parse("2026-11-01T00:00:00Z") / 1000;
  const blobs = new Map<string, Buffer>();

  const write = (files: Record<string, string | Uint8Array | null>) => {
    for (const [path, data] of Object.entries(files)) {
      const file = join(dir, path);
      if (data === null) rmSync(file, { force: true });
      else {
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, data);
      }
    }
  };
  const commitAll = (message: string) => {
    clock += 1;
    const date = `${clock} +0000`;
    git(["add", "-A"]);
    execFileSync("git", ["commit", "-q", "--allow-empty", "-m", message], {
      cwd: dir,
      env: { ...ENV, GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date },
    });
    return text(["rev-parse", "HEAD"]);
  };
  const refs = (kind: "heads" | "tags") =>
    text(["for-each-ref", "--format=%(refname:short) %(objectname) %(*objectname)", `refs/${kind}`])
      .split("\n")
      .filter(Boolean)
      .map((line) => {
        const [name, sha, peeled] = line.split(" ");
        return { name: name!, sha: peeled || sha! };
      });

  return {
    dir,
    commit(files, message = "update") {
      write(files);
      return commitAll(message);
    },
    commitTree(files, message = "update") {
      for (const entry of text(["ls-files"]).split("\n").filter(Boolean)) rmSync(join(dir, entry));
      write(files);
      return commitAll(message);
    },
    tag(name, ref = "HEAD") {
      git(["tag", name, ref]);
    },
    branch(name, ref = "HEAD") {
      git(["branch", "-f", name, ref]);
    },
    checkout(branch) {
      git(["checkout", "-q", branch]);
    },
    resolve(ref) {
      try {
        return text(["rev-parse", "--verify", "-q", `${ref}^{commit}`]);
      } catch {
        return undefined;
      }
    },
    commitInfo(sha) {
      const [tree, parents, an, ae, ad, cn, ce, cd, ...message] = text([
        "show",
        "-s",
        "--format=%T%n%P%n%an%n%ae%n%aI%n%cn%n%ce%n%cI%n%B",
        sha,
      ]).split("\n");
      const iso = (d: string) => new Date(d).toISOString().replace(".000Z", "Z");
      return {
        sha,
        tree: tree!,
        parents: parents ? parents.split(" ") : [],
        message: message.join("\n").trim(),
        author: { name: an!, email: ae!, date: iso(ad!) },
        committer: { name: cn!, email: ce!, date: iso(cd!) },
      };
    },
    tree(ref, recursive = true) {
      const out = git(["ls-tree", "-l", "-z", ...(recursive ? ["-r", "-t"] : []), ref]).toString("utf8");
      return out
        .split("\0")
        .filter(Boolean)
        .map((line) => {
          const tab = line.indexOf("\t");
          const [mode, type, sha, size] = line.slice(0, tab).split(/ +/);
          return {
            path: line.slice(tab + 1),
            mode: mode!,
            type: type as TreeEntry["type"],
            sha: sha!,
            size: type === "blob" ? Number(size) : undefined,
          };
        });
    },
    blob(sha) {
      let data = blobs.get(sha);
      if (!data) {
        data = git(["cat-file", "blob", sha]);
        blobs.set(sha, data);
      }
      return data;
    },
    file(ref, path) {
      const entry = this.tree(ref).find((e) => e.path === path && e.type === "blob");
      return entry ? this.blob(entry.sha) : undefined;
    },
    branches: () => refs("heads"),
    tags: () => refs("tags"),
    close() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

import { basename, dirname } from "node:path";
import { type ErrorCode, MpotaError } from "../errors/index.ts";

/** An error whose message is meant for the person at the terminal: printed without a stack trace. */
export class CliError extends MpotaError {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super("cli", message);
  }
}

/** How an error of each part of mpota reads at the terminal, where it needs more than its message. */
const SAID: Partial<Record<ErrorCode, (message: string) => CliError>> = {
  demo: (message) => new CliError(`the demo did not go as expected: ${message}`, 1),
};

/**
 * The one map from errors to what the CLI prints (`mpota: …`, exit 2 unless said otherwise): every
 * MpotaError by its code, and file-system errors; undefined for anything else, a bug, which keeps
 * its stack trace.
 */
export function cliErrorOf(err: unknown): CliError | undefined {
  if (err instanceof CliError) return err;
  if (err instanceof MpotaError) return SAID[err.code]?.(err.message) ?? new CliError(err.message);
  return fileSystemError(err);
}

/** What each file-system error means, and what the person can do about it. */
const FS_ERRORS: Record<string, string> = {
  EACCES: "permission denied; pick a folder you can write to, or fix its permissions",
  EPERM: "not permitted here; pick a folder you can write to",
  EROFS: "the file system is read-only; pick a folder on a writable disk",
  ENOTDIR: "part of the path is a file, not a folder; pick another path",
  EISDIR: "it is a folder where a file was expected; pick a file path",
  ENOENT: "no such file or folder (or it cannot be created here); check the path",
  EEXIST: "it already exists; pick another path or remove it",
  ENOSPC: "the disk is full; free some space or pick another disk",
  EDQUOT: "the disk quota is used up; free some space or pick another disk",
  ENAMETOOLONG: "the path is too long; pick a shorter one",
  ELOOP: "too many symbolic links in the path; pick another path",
  EMFILE: "too many open files; raise the limit (ulimit -n) and try again",
  EBUSY: "the file or folder is busy; close what holds it and try again",
};

const VERBS: Record<string, string> = {
  mkdir: "create folder",
  open: "open",
  write: "write",
  rename: "write",
  link: "write",
  unlink: "remove",
  rmdir: "remove",
  rm: "remove",
  scandir: "read folder",
  read: "read",
  copyfile: "copy to",
  symlink: "write",
  chmod: "change the mode of",
  stat: "read",
  lstat: "read",
};

/**
 * A file-system error (EACCES, EPERM, ENOTDIR, …) as one line naming the path and what to do, or
 * undefined for anything else. The CLI maps these once at its boundary, so no command needs its
 * own try/catch around file writes.
 */
export function fileSystemError(err: unknown): CliError | undefined {
  const e = err as NodeJS.ErrnoException;
  if (!(err instanceof Error) || typeof e.code !== "string" || typeof e.path !== "string") return undefined;
  const meaning = FS_ERRORS[e.code];
  if (meaning === undefined) return undefined;
  // An atomic write fails on its temporary file (.tmp-NAME-xxxx): name the folder the user chose.
  const path = basename(e.path).startsWith(".tmp-") ? dirname(e.path) : e.path;
  const verb = (e.syscall && VERBS[e.syscall]) ?? "use";
  return new CliError(`cannot ${verb} ${path}: ${meaning} (${e.code})`);
}

/**
 * The one base of mpota's errors on the host, as device/mpota/errors.py's UpdateError is the board's:
 * a message meant for a person (what is wrong, naming the thing) and a `code` naming the part of
 * mpota that refused. A boundary maps errors by code in one place (the CLI: src/cli/errors.ts), never
 * by importing each module to list its classes.
 */
export type ErrorCode =
  | "cli"
  | "config"
  | "demo"
  | "http"
  | "manifest"
  | "mpy"
  | "patch"
  | "publish"
  | "release"
  | "server"
  | "signature"
  | "store";

export class MpotaError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

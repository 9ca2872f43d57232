/**
 * What the admin commands (`mpota project`, `device`, `rollout`, `publish --server`) share: the
 * --server/--token options (or MPOTA_SERVER/MPOTA_TOKEN), and server errors as one-line CLI errors.
 */
import type { Command } from "commander";
import { CliError } from "./errors.ts";

export interface ServerCliOptions {
  server?: string;
  token?: string;
  json?: boolean;
}

export function addServerOptions(command: Command): Command {
  return command
    .option("--server <url>", "update server URL (default: $MPOTA_SERVER)")
    .option("--token <token>", "admin token (default: $MPOTA_TOKEN)")
    .option("--json", "print the server's answer as JSON");
}

/** An admin client for the options, or a CliError saying what is missing. */
export async function adminClient(opts: ServerCliOptions) {
  const { AdminClient } = await import("../server/client.ts");
  const server = opts.server ?? process.env.MPOTA_SERVER;
  const token = opts.token ?? process.env.MPOTA_TOKEN;
  if (!server) throw new CliError("no server: pass --server URL or set MPOTA_SERVER");
  if (!/^https?:\/\//.test(server)) throw new CliError(`--server ${server}: not an http:// or https:// URL`);
  if (!token)
    throw new CliError(
      "no admin token: pass --token T or set MPOTA_TOKEN (mpota serve prints one at first start)",
    );
  return new AdminClient(server, token);
}

/** Runs an admin call; a server's refusal becomes a CliError with its message. */
export async function serverCall<T>(call: () => Promise<T>): Promise<T> {
  const { ServerError } = await import("../server/client.ts");
  try {
    return await call();
  } catch (err) {
    if (err instanceof ServerError) throw new CliError(err.message);
    throw err;
  }
}

/** Prints `value` as JSON with --json, else the human text. */
export function output(opts: ServerCliOptions, value: unknown, text: string): void {
  process.stdout.write(opts.json ? `${JSON.stringify(value)}\n` : `${text}\n`);
}

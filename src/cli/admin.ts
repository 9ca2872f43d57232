/**
 * What the admin commands (`mpota project`, `device`, `rollout`, `publish --server`) share: the
 * --server/--token options (or MPOTA_SERVER/MPOTA_TOKEN), and server errors as one-line CLI errors.
 */
import type { Command } from "commander";
import { HEX64_PATTERN, ROLLOUT_ID_PATTERN } from "../rules/hex.ts";
import { DEVICE_ID_PATTERN, NAME_PATTERN, TAG_PATTERN } from "../rules/name.ts";
import { VERSION_PATTERN } from "../rules/version.ts";
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
  const { AdminClient } = await import("../server/admin-client.ts");
  const server = opts.server ?? process.env.MPOTA_SERVER;
  const token = opts.token ?? process.env.MPOTA_TOKEN;
  if (!server) throw new CliError("no server: pass --server URL or set MPOTA_SERVER");
  if (!/^https?:\/\//.test(server)) throw new CliError(`--server ${server}: not an http:// or https:// URL`);
  if (!token)
    throw new CliError(
      "no admin token: pass --token T or set MPOTA_TOKEN (`npx mpota serve` prints one at its first start)",
    );
  return new AdminClient(server, token);
}

/** The server's schema rules (by pattern), as they read to the person who typed the value. */
const RULES: Record<string, string> = {
  [ROLLOUT_ID_PATTERN]: "is not a rollout id (`npx mpota rollout list --project P` shows them)",
  [NAME_PATTERN]: "is not a name mpota takes: a-z, 0-9, . _ - (up to 64; e.g. greenhouse)",
  [VERSION_PATTERN]: "is not a semver version (e.g. 1.2.0)",
  [DEVICE_ID_PATTERN]: "is not a device id: letters, digits, . _ : - (up to 128)",
  [TAG_PATTERN]: "is not a tag: letters, digits, . _ : - (up to 64)",
  [HEX64_PATTERN]: "is not 64 lowercase hex characters",
};

/**
 * A schema refusal of the server (`GET /…: 400 params/id must match pattern "^[0-9a-f-]{36}$"`) said in terms of
 * what the user typed (`rollout id "12": is not a rollout id …`); `typed` names, per field, the
 * option or argument and its value. Other messages pass unchanged.
 */
export function explainRefusal(message: string, typed: Record<string, string> = {}): string {
  const m = /^(?:\S+ \S+: 400 )?(?:params|body|querystring)\/(\w+)(?:\/\d+)? (.+)$/.exec(message);
  if (!m) return message;
  const [, field, rule] = m as unknown as [string, string, string];
  const pattern = /^must match pattern "(.*)"$/.exec(rule)?.[1];
  const said = pattern === undefined ? rule : (RULES[pattern] ?? rule);
  return `${typed[field] ?? field}: ${said}`;
}

/** Runs an admin call; a server's refusal becomes a CliError with its message (see explainRefusal). */
export async function serverCall<T>(call: () => Promise<T>, typed: Record<string, string> = {}): Promise<T> {
  const { ServerError } = await import("../server/admin-client.ts");
  try {
    return await call();
  } catch (err) {
    if (err instanceof ServerError) throw new CliError(explainRefusal(err.message, typed));
    throw err;
  }
}

/** One request of an admin command: the client for its options, a refusal as a CliError (see serverCall). */
export async function adminRequest<T = Record<string, unknown>>(
  opts: ServerCliOptions,
  method: string,
  path: string,
  { body, typed }: { body?: unknown; typed?: Record<string, string> } = {},
): Promise<T> {
  const client = await adminClient(opts);
  return serverCall(() => client.request<T>(method, path, body), typed);
}

/** How a value the user typed is named in an error: `--release "1.2"`, `rollout id "12"`. */
export const typedAs = (name: string, value: string | undefined) =>
  value === undefined ? name : `${name} ${JSON.stringify(value)}`;

/** Prints `value` as JSON with --json, else the human text. */
export function output(opts: ServerCliOptions, value: unknown, text: string): void {
  process.stdout.write(opts.json ? `${JSON.stringify(value)}\n` : `${text}\n`);
}

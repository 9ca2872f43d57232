/**
 * Starting a server process the way `mpota serve` does: open (and migrate) the database, build the
 * app, listen, and hand out the first admin token when there is none yet.
 */
import { join, resolve } from "node:path";
import { openDatabase } from "../db/index.ts";
import { createServer, type ServerOptions } from "./app.ts";
import { bootstrapAdminToken } from "./data/index.ts";

export interface ServeOptions {
  port: number;
  host: string;
  /** Database URL; default: the SQLite file `<data>/mpota.db`. */
  db?: string;
  data: string;
  limits?: ServerOptions["limits"];
  logger?: boolean;
  flushIntervalMs?: ServerOptions["flushIntervalMs"];
}

export interface RunningServer {
  url: string;
  /** The database, password masked. */
  db: string;
  /** Set only on the very first start of a server (no admin token existed yet). */
  adminToken?: string;
  close(): Promise<void>;
}

/** The database `mpota serve` uses when given none: the SQLite file `<data>/mpota.db`. */
export function defaultDatabase(data: string): string {
  return join(resolve(data), "mpota.db");
}

export async function serve(options: ServeOptions): Promise<RunningServer> {
  const dataDir = resolve(options.data);
  const db = await openDatabase(options.db ?? defaultDatabase(dataDir));
  try {
    const server = await createServer({
      db,
      dataDir,
      limits: options.limits,
      logger: options.logger,
      flushIntervalMs: options.flushIntervalMs,
    });
    const adminToken = await bootstrapAdminToken(db.kysely, Date.now());
    await server.app.listen({ port: options.port, host: options.host });
    const address = server.app.server.address();
    const port = typeof address === "object" && address ? address.port : options.port;
    const host = options.host.includes(":") ? `[${options.host}]` : options.host;
    return {
      url: `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${port}`,
      db: db.label,
      ...(adminToken ? { adminToken } : {}),
      close: async () => {
        await server.app.close();
        await db.close();
      },
    };
  } catch (err) {
    await db.close();
    throw err;
  }
}

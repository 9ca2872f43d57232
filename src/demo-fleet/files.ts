/**
 * What the demo keeps under DATA/demo/ so a second start reuses it: the release signing key, the
 * demo's own admin token, the boards' ids and device tokens (all mode 0600), and the release store.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { generateKeyPair, loadPrivateKey, privateKeyPem, type SigningKey } from "../manifest/index.ts";
import { writeFileAtomic } from "../store/index.ts";

export interface DemoBoardSecret {
  id: string;
  token: string;
}

export class DemoFiles {
  readonly dir: string;

  constructor(dataDir: string) {
    this.dir = join(dataDir, "demo");
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  get storeDir(): string {
    return join(this.dir, "store");
  }

  get keyFile(): string {
    return join(this.dir, "release-key.pem");
  }

  /** The demo's release signing key, made on first use. */
  signingKey(): { key: SigningKey; created: boolean } {
    if (existsSync(this.keyFile)) return { key: loadPrivateKey(this.keyFile), created: false };
    const key = generateKeyPair();
    writeFileAtomic(this.keyFile, privateKeyPem(key), { mode: 0o600 });
    return { key, created: true };
  }

  adminToken(): string | undefined {
    return this.readSecret("admin-token")?.trim();
  }

  saveAdminToken(token: string): void {
    writeFileAtomic(join(this.dir, "admin-token"), `${token}\n`, { mode: 0o600 });
  }

  boards(): DemoBoardSecret[] {
    const text = this.readSecret("boards.json");
    if (text === undefined) return [];
    const list = JSON.parse(text) as unknown;
    if (!Array.isArray(list) || !list.every((b) => typeof b?.id === "string" && typeof b?.token === "string"))
      throw new Error(
        `${join(this.dir, "boards.json")} is not a list of {id, token}; delete it to start afresh`,
      );
    return list as DemoBoardSecret[];
  }

  saveBoards(boards: DemoBoardSecret[]): void {
    writeFileAtomic(join(this.dir, "boards.json"), `${JSON.stringify(boards, null, 2)}\n`, { mode: 0o600 });
  }

  private readSecret(name: string): string | undefined {
    const file = join(this.dir, name);
    return existsSync(file) ? readFileSync(file, "utf8") : undefined;
  }
}

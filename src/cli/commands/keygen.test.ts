/** `mpota keygen`, run as a user would (child processes). */
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../../../testing/cli.ts";
import { loadPrivateKey } from "../../manifest/index.ts";

const mpota = (cwd: string, ...args: string[]) => runCli(args, { cwd });

describe("mpota keygen", () => {
  it("writes a 0600 PEM key, prints its public key, and refuses to overwrite it without --force", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mpota-keygen-"));
    const [plain, json] = await Promise.all([
      mpota(dir, "keygen", "--out", "a.key"),
      mpota(dir, "keygen", "--out", "b.key", "--json"),
    ]);
    const a = loadPrivateKey(join(dir, "a.key"));
    expect(plain).toMatchObject({ code: 0, stderr: "" });
    expect(plain.stdout).toContain(`public key: ${a.publicKeyHex}\nkey id:     ${a.keyId}\n`);
    expect(statSync(join(dir, "a.key")).mode & 0o777).toBe(0o600);
    const b = loadPrivateKey(join(dir, "b.key"));
    expect(JSON.parse(json.stdout)).toEqual({ out: "b.key", publicKey: b.publicKeyHex, keyId: b.keyId });
    expect(a.publicKeyHex).not.toBe(b.publicKeyHex);

    const before = readFileSync(join(dir, "a.key"));
    writeFileSync(join(dir, "loose.key"), before, { mode: 0o644 });
    const [again, forced, show, loose, missing, nothing, both] = await Promise.all([
      mpota(dir, "keygen", "--out", "a.key"),
      mpota(dir, "keygen", "--out", "b.key", "--force", "--json"),
      mpota(dir, "keygen", "--show", "a.key", "--json"),
      mpota(dir, "keygen", "--show", "loose.key"),
      mpota(dir, "keygen", "--show", "nope.key"),
      mpota(dir, "keygen"),
      mpota(dir, "keygen", "--out", "x.key", "--show", "a.key"),
    ]);
    expect(again).toEqual({
      code: 2,
      stdout: "",
      stderr:
        "mpota: a.key already exists; pass --force to replace it (releases signed with it stop verifying)\n",
    });
    expect(readFileSync(join(dir, "a.key"))).toEqual(before);
    expect(forced.code).toBe(0);
    expect(JSON.parse(forced.stdout).publicKey).not.toBe(b.publicKeyHex);
    expect(statSync(join(dir, "b.key")).mode & 0o777).toBe(0o600);
    expect(JSON.parse(show.stdout)).toEqual({ out: "a.key", publicKey: a.publicKeyHex, keyId: a.keyId });
    expect(loose).toMatchObject({
      code: 0,
      stderr: "warning: key file loose.key can be read by others (mode 0644); run: chmod 600 loose.key\n",
    });
    expect(missing).toMatchObject({ code: 2, stderr: "mpota: key file nope.key cannot be read (ENOENT)\n" });
    expect(nothing).toMatchObject({
      code: 2,
      stderr: "mpota: --out <keyfile> is required (where to write the private key)\n",
    });
    expect(both).toMatchObject({
      code: 2,
      stderr: "mpota: give either --out (a new key) or --show (an existing one)\n",
    });
  });
});

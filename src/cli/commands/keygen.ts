import { existsSync } from "node:fs";
import type { Command } from "commander";
import { CliError } from "../errors.ts";
import { loadKeyOption } from "./release.ts";

interface KeygenOptions {
  out?: string;
  show?: string;
  force?: boolean;
  json?: boolean;
}

function print(json: boolean | undefined, value: Record<string, unknown>, text: string): void {
  process.stdout.write(json ? `${JSON.stringify(value)}\n` : text);
}

/** `mpota keygen --out KEYFILE`: a new Ed25519 release key (PEM, mode 0600); `--show KEYFILE` prints its public key. */
export function registerKeygen(program: Command): void {
  program
    .command("keygen")
    .description(
      "make an Ed25519 release signing key (the private key stays with you; devices get the public key)",
    )
    .option("--out <keyfile>", "where to write the private key (PEM, mode 0600)")
    .option("--force", "overwrite an existing key file (releases signed with the old key stop verifying)")
    .option("--show <keyfile>", "print the public key and key id of an existing key file instead")
    .option("--json", "print one JSON line: {out, publicKey, keyId}")
    .action(async (opts: KeygenOptions) => {
      const keys = await import("../../manifest/index.ts");
      if (opts.show !== undefined) {
        if (opts.out !== undefined)
          throw new CliError("give either --out (a new key) or --show (an existing one)");
        const key = await loadKeyOption(opts.show);
        print(
          opts.json,
          { out: opts.show, publicKey: key.publicKeyHex, keyId: key.keyId },
          `public key: ${key.publicKeyHex}\nkey id:     ${key.keyId}\n`,
        );
        return;
      }
      if (opts.out === undefined)
        throw new CliError("--out <keyfile> is required (where to write the private key)");
      if (existsSync(opts.out) && !opts.force)
        throw new CliError(
          `${opts.out} already exists; pass --force to replace it (releases signed with it stop verifying)`,
        );
      const { writeFileAtomic } = await import("../../store/index.ts");
      const key = keys.generateKeyPair();
      writeFileAtomic(opts.out, keys.privateKeyPem(key), { mode: 0o600 });
      print(
        opts.json,
        { out: opts.out, publicKey: key.publicKeyHex, keyId: key.keyId },
        `wrote private key ${opts.out} (mode 0600; keep it secret, keep a backup)\n` +
          `public key: ${key.publicKeyHex}\nkey id:     ${key.keyId}\n` +
          `put the public key in the devices' ota_config.json "keys" (and on your update server)\n`,
      );
    });
}

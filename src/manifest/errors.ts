import { MpotaError } from "../errors/index.ts";

/** A manifest, pointer or envelope that breaks docs/protocol.md; `problems` holds one message per mistake. */
export class ManifestError extends MpotaError {
  readonly problems: string[];

  constructor(problems: string | string[]) {
    const list = typeof problems === "string" ? [problems] : problems;
    const shown = list.slice(0, 5).join("; ");
    super("manifest", list.length > 5 ? `${shown}; and ${list.length - 5} more` : shown);
    this.problems = list;
  }
}

/** A missing, unknown or wrong signature, or a key that cannot be read or used. */
export class SignatureError extends MpotaError {
  constructor(message: string) {
    super("signature", message);
  }
}

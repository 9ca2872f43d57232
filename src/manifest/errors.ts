/** A manifest, pointer or envelope that breaks docs/protocol.md; `problems` holds one message per mistake. */
export class ManifestError extends Error {
  readonly problems: string[];

  constructor(problems: string | string[]) {
    const list = typeof problems === "string" ? [problems] : problems;
    const shown = list.slice(0, 5).join("; ");
    super(list.length > 5 ? `${shown}; and ${list.length - 5} more` : shown);
    this.name = "ManifestError";
    this.problems = list;
  }
}

/** A missing, unknown or wrong signature, or a key that cannot be read or used. */
export class SignatureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SignatureError";
  }
}

/** Who makes a change and when: what every write of the data layer records in the audit log. */
export interface Change {
  /** The actor name of the audit log (auth.ts `actorOf`). */
  actor: string;
  /** ms since the epoch, from the server's clock. */
  at: number;
}

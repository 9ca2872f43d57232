/** A date as docs/protocol.md writes times (`created`, `expires`): UTC, whole seconds. */
export function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

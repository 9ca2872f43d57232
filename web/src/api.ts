/**
 * The dashboard's only way to the server: the admin API under /api/v1, as the CLI uses it, with the
 * session cookie the browser sends by itself. Writes carry the session's CSRF value.
 */
import type { SessionInfo } from "../../src/server/api-schemas.ts";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

let csrf = "";
let onSignedOut: () => void = () => {};

/** Called when the server stops accepting the session (expired, token deleted). */
export function whenSignedOut(handler: () => void): void {
  onSignedOut = handler;
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers["content-type"] = "application/json";
  if (method !== "GET") headers["x-mpota-csrf"] = csrf;
  const response = await fetch(`/api/v1${path}`, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const json = text ? (JSON.parse(text) as unknown) : {};
  if (!response.ok) {
    const message = (json as { error?: string }).error ?? `${response.status} ${response.statusText}`;
    if (response.status === 401 && path !== "/session") onSignedOut();
    throw new ApiError(response.status, message);
  }
  return json as T;
}

/** The current session, or undefined when not signed in. */
export async function currentSession(): Promise<SessionInfo | undefined> {
  try {
    const session = await api<SessionInfo>("GET", "/session");
    csrf = session.csrf;
    return session;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return undefined;
    throw err;
  }
}

export async function signIn(token: string): Promise<SessionInfo> {
  const session = await api<SessionInfo>("POST", "/session", { token });
  csrf = session.csrf;
  return session;
}

export async function signOut(): Promise<void> {
  await api("DELETE", "/session");
  csrf = "";
}

/** Path segment, encoded. */
export const seg = (text: string) => encodeURIComponent(text);

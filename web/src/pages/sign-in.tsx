/** Sign-in: an admin or read-only token, exchanged for an httpOnly session cookie (never stored here). */
import { useState } from "preact/hooks";
import type { SessionInfo } from "../../../src/server/api-schemas.ts";
import { signIn } from "../api.ts";
import { Problem } from "../ui.tsx";

export function SignInPage({ onSignedIn }: { onSignedIn: (session: SessionInfo) => void }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const session = await signIn(token.trim());
      setToken("");
      onSignedIn(session);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="sign-in">
      <h1>mpota update server</h1>
      <form onSubmit={submit}>
        <label for="token">Admin or read-only token</label>
        <input
          id="token"
          type="password"
          autocomplete="off"
          required
          value={token}
          onInput={(e) => setToken(e.currentTarget.value)}
        />
        <button type="submit" disabled={busy}>
          Sign in
        </button>
        <Problem error={error} />
      </form>
      <p class="hint">
        <code>mpota serve</code> prints the first admin token when it starts; <code>npm start</code> (the
        demo) prints its own. Read-only tokens for others are made on the Tokens page.
      </p>
    </main>
  );
}

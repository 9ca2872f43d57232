/** Admin tokens: who may use the API and the dashboard, as admin or read-only. */
import { useState } from "preact/hooks";
import { api, seg } from "../api.ts";
import { useData, when } from "../data.ts";
import type { PageProps } from "../main.tsx";
import { Action, Loading, Problem } from "../ui.tsx";

interface TokenRow {
  id: string;
  name: string;
  role: string;
  createdAt: string;
}

function NewToken({ onMade }: { onMade: () => void }) {
  const [name, setName] = useState("");
  const [role, setRole] = useState("read-only");
  const [made, setMade] = useState<{ name: string; token: string }>();
  return (
    <section aria-labelledby="new-title">
      <h2 id="new-title">New token</h2>
      <div class="edit">
        <label>
          Name <input value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <label>
          Role
          <select value={role} onChange={(e) => setRole(e.currentTarget.value)}>
            <option>read-only</option>
            <option>admin</option>
          </select>
        </label>
        <Action
          label="Make token"
          run={async () => {
            const token = await api<{ name: string; token: string }>("POST", "/tokens", { name, role });
            setMade(token);
            setName("");
            onMade();
          }}
        />
      </div>
      {made && (
        <p class="secret" role="status">
          Token <strong>{made.name}</strong> (shown once, copy it now): <code>{made.token}</code>
        </p>
      )}
    </section>
  );
}

export function TokensPage({ canWrite }: PageProps) {
  const list = useData(() => api<{ tokens: TokenRow[] }>("GET", "/tokens"), [], ["audit"]);
  return (
    <>
      {canWrite && <NewToken onMade={list.reload} />}
      <section aria-labelledby="tokens-title">
        <h2 id="tokens-title">Tokens</h2>
        <Problem error={list.error} />
        {!list.data ? (
          <Loading />
        ) : (
          <table id="tokens">
            <thead>
              <tr>
                <th scope="col">name</th>
                <th scope="col">role</th>
                <th scope="col">made</th>
                {canWrite && <th scope="col">delete</th>}
              </tr>
            </thead>
            <tbody>
              {list.data.tokens.map((t) => (
                <tr key={t.id}>
                  <td>{t.name}</td>
                  <td>{t.role}</td>
                  <td>{when(t.createdAt)}</td>
                  {canWrite && (
                    <td>
                      <Action
                        label="Delete"
                        name={`Delete token ${t.name}`}
                        danger
                        confirm={`Delete token ${t.name}? Its sessions end at once.`}
                        run={async () => {
                          await api("DELETE", `/tokens/${seg(t.id)}`);
                          list.reload();
                        }}
                      />
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}

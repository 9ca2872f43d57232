/** The audit log: every change, who made it, newest first. */
import { useState } from "preact/hooks";
import { api, seg } from "../api.ts";
import { useData, when } from "../data.ts";
import type { PageProps } from "../main.tsx";
import { Loading, Problem, Table } from "../ui.tsx";

interface Entry {
  id: string;
  at: string;
  actor: string;
  action: string;
  project: string | null;
  target: string | null;
  detail: Record<string, unknown>;
}

export function AuditPage({ project }: PageProps) {
  const [all, setAll] = useState(false);
  const { data, error } = useData(
    () => api<{ entries: Entry[] }>("GET", `/audit?limit=200${all ? "" : `&project=${seg(project)}`}`),
    [project, all],
    ["audit"],
  );
  return (
    <>
      <label class="inline">
        <input type="checkbox" checked={all} onChange={(e) => setAll(e.currentTarget.checked)} /> every
        project and server-wide changes
      </label>
      <Problem error={error} />
      {!data ? (
        <Loading />
      ) : (
        <Table
          id="audit"
          columns={["when", "who", "what", "target", "details"]}
          rows={data.entries}
          empty="Nothing yet."
          row={(e) => (
            <tr key={e.id}>
              <td class="nowrap">{when(e.at)}</td>
              <td>{e.actor}</td>
              <td>{e.action}</td>
              <td class="mono">{[e.project, e.target].filter(Boolean).join(" / ")}</td>
              <td class="mono small">{Object.keys(e.detail).length > 0 ? JSON.stringify(e.detail) : ""}</td>
            </tr>
          )}
        />
      )}
    </>
  );
}

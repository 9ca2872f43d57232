/**
 * Devices: search and filters applied by the server, paged by device id (keyset paging: fast at any
 * depth), and the enrolments waiting for an admin.
 */
import { useState } from "preact/hooks";
import type { DeviceList } from "../../../src/server/api-schemas.ts";
import { api, seg } from "../api.ts";
import { ago, useData, useReleases } from "../data.ts";
import type { PageProps } from "../main.tsx";
import { Action, Empty, Loading, Problem } from "../ui.tsx";

const PAGE_SIZE = 50;

interface Filters {
  q: string;
  tag: string;
  version: string;
  state: string;
  status: string;
  seen: string;
}

const NO_FILTERS: Filters = { q: "", tag: "", version: "", state: "", status: "", seen: "" };

const SEEN: Record<string, [string, string]> = {
  "": ["any time", ""],
  hour: ["seen in the last hour", "seenWithin=3600"],
  "not-hour": ["not seen for an hour", "notSeenFor=3600"],
  "not-day": ["not seen for a day", "notSeenFor=86400"],
};

function queryOf(f: Filters, after: string | undefined): string {
  const parts = [`limit=${PAGE_SIZE}`];
  for (const key of ["q", "tag", "version", "state", "status"] as const)
    if (f[key]) parts.push(`${key}=${encodeURIComponent(f[key])}`);
  const seen = SEEN[f.seen]?.[1];
  if (seen) parts.push(seen);
  if (after) parts.push(`after=${encodeURIComponent(after)}`);
  return parts.join("&");
}

function PendingEnrolments({ project, canWrite }: PageProps) {
  const pending = useData(
    () => api<DeviceList>("GET", `/projects/${seg(project)}/devices?status=pending&limit=100`),
    [project],
    ["devices", "audit"],
  );
  const decide = (id: string, status: "active" | "revoked") => async () => {
    await api("PATCH", `/projects/${seg(project)}/devices/${seg(id)}`, { status });
    pending.reload();
  };
  const list = pending.data?.devices ?? [];
  if (list.length === 0) return null;
  return (
    <section aria-labelledby="pending-title" class="pending">
      <h2 id="pending-title">Waiting for approval ({pending.data?.total})</h2>
      <Problem error={pending.error} />
      <ul>
        {list.map((d) => (
          <li key={d.id}>
            <a href={`#/device/${seg(d.id)}`}>{d.id}</a> asked to enrol {ago(d.createdAt)}
            {canWrite && (
              <>
                {" "}
                <Action label="Accept" name={`Accept ${d.id}`} run={decide(d.id, "active")} />
                <Action label="Reject" name={`Reject ${d.id}`} danger run={decide(d.id, "revoked")} />
              </>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}

export function DevicesPage(props: PageProps) {
  const { project } = props;
  const [draft, setDraft] = useState<Filters>(NO_FILTERS);
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  // the `after` cursor of each page shown so far: Previous pops, Next pushes
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const after = cursors[cursors.length - 1];
  const releases = useReleases(project);
  const list = useData(
    () => api<DeviceList>("GET", `/projects/${seg(project)}/devices?${queryOf(filters, after)}`),
    [project, filters, after],
    ["devices", "audit"],
  );
  const apply = (event: Event) => {
    event.preventDefault();
    setFilters(draft);
    setCursors([undefined]);
  };
  const field = (key: keyof Filters) => ({
    value: draft[key],
    onInput: (e: Event) => setDraft({ ...draft, [key]: (e.currentTarget as HTMLInputElement).value }),
  });
  const first = (cursors.length - 1) * PAGE_SIZE;
  return (
    <>
      <PendingEnrolments {...props} />
      <form class="filters" onSubmit={apply} aria-label="Find devices">
        <label>
          Device id <input type="search" placeholder="contains…" {...field("q")} />
        </label>
        <label>
          Tag <input placeholder="tag" {...field("tag")} />
        </label>
        <label>
          Release
          <select {...field("version")}>
            <option value="">any</option>
            {releases.data?.releases.map((r) => (
              <option key={r.version}>{r.version}</option>
            ))}
            <option value="none">never checked in</option>
          </select>
        </label>
        <label>
          State
          <select {...field("state")}>
            <option value="">any</option>
            <option>good</option>
            <option>trial</option>
          </select>
        </label>
        <label>
          Status
          <select {...field("status")}>
            <option value="">any</option>
            <option>active</option>
            <option>pending</option>
            <option>revoked</option>
          </select>
        </label>
        <label>
          Last seen
          <select {...field("seen")}>
            {Object.entries(SEEN).map(([value, [label]]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">Search</button>
      </form>
      <Problem error={list.error} />
      {!list.data ? (
        <Loading />
      ) : list.data.total === 0 ? (
        <Empty>No device matches.</Empty>
      ) : (
        <>
          <p class="count" aria-live="polite">
            {first + 1}–{first + list.data.devices.length} of {list.data.total} devices
          </p>
          <table id="devices">
            <thead>
              <tr>
                <th scope="col">device</th>
                <th scope="col">status</th>
                <th scope="col">release</th>
                <th scope="col">state</th>
                <th scope="col">tags</th>
                <th scope="col">pin</th>
                <th scope="col">last seen</th>
              </tr>
            </thead>
            <tbody>
              {list.data.devices.map((d) => (
                <tr key={d.id}>
                  <td>
                    <a href={`#/device/${seg(d.id)}`}>{d.id}</a>
                  </td>
                  <td>{d.status}</td>
                  <td>{d.version ?? "-"}</td>
                  <td>
                    {d.state ?? "-"}
                    {d.failed ? ` (${d.failed} failed)` : ""}
                  </td>
                  <td>{d.tags.join(", ")}</td>
                  <td>{d.pin ?? ""}</td>
                  <td title={d.lastSeen ?? undefined}>{ago(d.lastSeen)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <nav class="pager" aria-label="Device pages">
            <button
              type="button"
              disabled={cursors.length === 1}
              onClick={() => setCursors(cursors.slice(0, -1))}
            >
              Previous
            </button>
            <button
              type="button"
              disabled={!list.data.next}
              onClick={() => setCursors([...cursors, list.data!.next!])}
            >
              Next
            </button>
          </nav>
        </>
      )}
    </>
  );
}

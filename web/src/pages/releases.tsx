/** Releases: each with its files, sizes, patches and signing keys; channels, and pointing one at a release. */
import { useState } from "preact/hooks";
import type { ReleaseDetail } from "../../../src/server/api-schemas.ts";
import { api, seg } from "../api.ts";
import { bytes, useData, useReleases, when } from "../data.ts";
import type { PageProps } from "../main.tsx";
import { Action, Empty, Loading, Problem, Table } from "../ui.tsx";

interface ChannelRow {
  name: string;
  version: string | null;
  rollout: string | null;
}

function Detail({ project, version }: { project: string; version: string }) {
  const { data, error } = useData(
    () => api<ReleaseDetail>("GET", `/projects/${seg(project)}/releases/${seg(version)}`),
    [project, version],
  );
  if (!data) return error ? <Problem error={error} /> : <Loading />;
  const saved = data.patchedBytes === null ? null : data.wholeBytes - data.patchedBytes;
  return (
    <section aria-labelledby="detail-title">
      <h2 id="detail-title">Release {data.version}</h2>
      <p>
        Signed by key {data.keyIds.join(", ")} · {data.files.length} files · {bytes(data.wholeBytes)} to
        download whole
        {data.previous && data.patchedBytes !== null && saved !== null && (
          <>
            {" "}
            · from {data.previous}: {bytes(data.patchedBytes)} with patches (
            {data.wholeBytes > 0 ? Math.round((saved * 100) / data.wholeBytes) : 0}% saved)
          </>
        )}
      </p>
      <table id="files">
        <thead>
          <tr>
            <th scope="col">file</th>
            <th scope="col">size</th>
            <th scope="col">compressed</th>
            <th scope="col">patches</th>
          </tr>
        </thead>
        <tbody>
          {data.files.map((f) => (
            <tr key={f.path}>
              <td>{f.path}</td>
              <td class="num">{bytes(f.size)}</td>
              <td class="num">{bytes(f.zlib)}</td>
              <td>
                {f.patches.length === 0
                  ? "-"
                  : f.patches
                      .map(
                        (p) =>
                          `${bytes(p.size)} from ${p.from.slice(0, 8)} (${Math.round(100 - (p.size * 100) / Math.max(1, f.zlib))}% saved)`,
                      )
                      .join("; ")}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function PointChannel({ project, releases }: { project: string; releases: string[] }) {
  const [channel, setChannel] = useState("stable");
  const [version, setVersion] = useState(releases[0] ?? "");
  return (
    <div class="edit">
      <label>
        Channel <input value={channel} onInput={(e) => setChannel(e.currentTarget.value)} />
      </label>
      <label>
        Release
        <select value={version} onChange={(e) => setVersion(e.currentTarget.value)}>
          {releases.map((v) => (
            <option key={v}>{v}</option>
          ))}
        </select>
      </label>
      <Action
        label="Point channel at release"
        run={() => api("PUT", `/projects/${seg(project)}/channels/${seg(channel)}`, { version })}
      />
    </div>
  );
}

export function ReleasesPage({ project, canWrite }: PageProps) {
  const [open, setOpen] = useState<string>();
  const releases = useReleases(project);
  const channels = useData(
    () => api<{ channels: ChannelRow[] }>("GET", `/projects/${seg(project)}/channels`),
    [project],
    ["audit", "rollouts"],
  );
  const versions = releases.data?.releases.map((r) => r.version) ?? [];
  return (
    <>
      <section aria-labelledby="channels-title">
        <h2 id="channels-title">Channels</h2>
        <Problem error={channels.error} />
        {channels.data?.channels.length === 0 && <Empty>No channels yet.</Empty>}
        <ul>
          {channels.data?.channels.map((c) => (
            <li key={c.name}>
              {c.name}: {c.version ?? "no release"}
              {c.rollout ? " (a rollout is in progress)" : ""}
            </li>
          ))}
        </ul>
        {canWrite && versions.length > 0 && <PointChannel project={project} releases={versions} />}
      </section>
      <section aria-labelledby="releases-title">
        <h2 id="releases-title">Releases</h2>
        <Problem error={releases.error} />
        {!releases.data ? (
          <Loading />
        ) : (
          <Table
            id="releases"
            columns={["release", "files", "published"]}
            rows={releases.data.releases}
            empty={
              <>
                No releases yet: publish one with <code>mpota publish --server</code>.
              </>
            }
            row={(r) => (
              <tr key={r.version}>
                <td>
                  <button
                    type="button"
                    class="link"
                    aria-expanded={open === r.version}
                    onClick={() => setOpen(r.version)}
                  >
                    {r.version}
                  </button>
                </td>
                <td class="num">{r.files}</td>
                <td>{when(r.createdAt)}</td>
              </tr>
            )}
          />
        )}
      </section>
      {(open ?? versions[0]) && <Detail project={project} version={(open ?? versions[0])!} />}
    </>
  );
}

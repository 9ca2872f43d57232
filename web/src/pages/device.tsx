/** One device: what it runs, its last error, its event timeline; tags, pin and revoke for admins. */
import { useState } from "preact/hooks";
import type { DeviceDetail } from "../../../src/server/api-schemas.ts";
import { api, seg } from "../api.ts";
import { ago, useData, useReleases, when } from "../data.ts";
import type { PageProps } from "../main.tsx";
import { Action, Empty, Loading, Problem } from "../ui.tsx";

const EVENT_WORDS: Record<string, string> = {
  downloading: "downloading",
  installed: "installed",
  trial: "booted on trial",
  confirmed: "confirmed",
  rolled_back: "rolled back",
  failed: "failed",
};

function Edit({ project, device, releases }: { project: string; device: DeviceDetail; releases: string[] }) {
  const [tags, setTags] = useState(device.tags.join(" "));
  const [pin, setPin] = useState(device.pin ?? "");
  const path = `/projects/${seg(project)}/devices/${seg(device.id)}`;
  return (
    <section aria-labelledby="edit-title">
      <h2 id="edit-title">Change</h2>
      <div class="edit">
        <label>
          Tags (space-separated) <input value={tags} onInput={(e) => setTags(e.currentTarget.value)} />
        </label>
        <Action
          label="Save tags"
          run={() => api("PATCH", path, { tags: tags.split(/[\s,]+/).filter(Boolean) })}
        />
      </div>
      <div class="edit">
        <label>
          Pin to release{" "}
          <select value={pin} onChange={(e) => setPin(e.currentTarget.value)}>
            <option value="">not pinned (follow the channel)</option>
            {releases.map((v) => (
              <option key={v}>{v}</option>
            ))}
          </select>
        </label>
        <Action label="Save pin" run={() => api("PATCH", path, { pin: pin || null })} />
      </div>
      {device.status !== "revoked" && (
        <div class="edit">
          <Action
            label="Revoke token"
            danger
            confirm={`Revoke ${device.id}? It can no longer check in; provision it again to bring it back.`}
            run={() => api("PATCH", path, { status: "revoked" })}
          />
        </div>
      )}
    </section>
  );
}

export function DevicePage({ project, canWrite, arg }: PageProps) {
  const device = useData(
    () => api<DeviceDetail>("GET", `/projects/${seg(project)}/devices/${seg(arg)}`),
    [project, arg],
    ["devices", "events", "audit"],
  );
  const releases = useReleases(project);
  const d = device.data;
  if (!d) return device.error ? <Problem error={device.error} /> : <Loading />;
  const lastError = d.events.find((e) => e.error);
  return (
    <>
      <h2 class="device-id">{d.id}</h2>
      <Problem error={device.error} />
      <dl class="facts">
        <dt>status</dt>
        <dd>{d.status}</dd>
        <dt>release</dt>
        <dd>
          {d.version ?? "never checked in"} {d.state ? `(${d.state})` : ""}
        </dd>
        <dt>last seen</dt>
        <dd title={d.lastSeen ?? undefined}>{ago(d.lastSeen)}</dd>
        <dt>tags</dt>
        <dd>{d.tags.join(", ") || "none"}</dd>
        <dt>pin</dt>
        <dd>{d.pin ?? "none"}</dd>
        <dt>last error</dt>
        <dd>
          {lastError
            ? `${lastError.version}: ${lastError.error} (${ago(lastError.at)})`
            : d.failed
              ? `${d.failed} failed and was rolled back`
              : "none"}
        </dd>
        <dt>provisioned</dt>
        <dd>{when(d.createdAt)}</dd>
      </dl>
      {canWrite && (
        <Edit
          key={d.id}
          project={project}
          device={d}
          releases={releases.data?.releases.map((r) => r.version) ?? []}
        />
      )}
      <section aria-labelledby="timeline-title">
        <h2 id="timeline-title">Timeline</h2>
        {d.events.length === 0 ? (
          <Empty>No update events yet.</Empty>
        ) : (
          <ol class="timeline">
            {d.events.map((e) => (
              <li key={`${e.version}/${e.event}`} class={e.event}>
                <time dateTime={e.at}>{when(e.at)}</time> {e.version} {EVENT_WORDS[e.event] ?? e.event}
                {e.error ? `: ${e.error}` : ""}
              </li>
            ))}
          </ol>
        )}
      </section>
    </>
  );
}

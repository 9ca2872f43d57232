/** Fleet: devices by status, release and state; channels and their rollouts; silent devices; charts. */
import type { Overview } from "../../../src/server/api-schemas.ts";
import { api, seg } from "../api.ts";
import { TimeChart } from "../chart.tsx";
import { ago, useData } from "../data.ts";
import type { PageProps } from "../main.tsx";
import { Card, Empty, Loading, Problem, Table } from "../ui.tsx";
import { RolloutSummary } from "./rollouts.tsx";

export function FleetPage({ project }: PageProps) {
  const { data, error } = useData(
    () => api<Overview>("GET", `/projects/${seg(project)}/overview`),
    [project],
    ["devices", "events", "rollouts", "audit"],
    // the overview counts the whole fleet: every few seconds is live enough for a busy one
    3000,
  );
  if (!data) return error ? <Problem error={error} /> : <Loading />;
  const d = data.devices;
  return (
    <>
      <Problem error={error} />
      <section aria-label="Devices" class="cards">
        <Card label="devices" value={d.total} />
        <Card label="active" value={d.active} />
        <Card label="pending" value={<a href="#/devices">{d.pending}</a>} />
        <Card label="revoked" value={d.revoked} />
        <Card label="seen in the last hour" value={d.seenLastHour} />
      </section>
      <div class="columns">
        <section>
          <h2>Devices per release and state</h2>
          <Table
            id="running"
            columns={["release", "state", "devices"]}
            rows={data.running}
            empty="No devices yet."
            row={(r) => (
              <tr key={`${r.version}/${r.state}`}>
                <td>{r.version ?? "not checked in"}</td>
                <td>{r.state ?? "-"}</td>
                <td class="num">{r.devices}</td>
              </tr>
            )}
          />
        </section>
        <section>
          <h2>Channels</h2>
          <Table
            id="channels"
            columns={["channel", "release", "rollout"]}
            rows={data.channels}
            empty="No channels yet."
            row={(c) => (
              <tr key={c.name}>
                <td>{c.name}</td>
                <td>{c.version ?? "-"}</td>
                <td>{c.rollout ? <RolloutSummary rollout={c.rollout} /> : "-"}</td>
              </tr>
            )}
          />
        </section>
      </div>
      <section>
        <h2>Check-ins and failures</h2>
        <div class="columns">
          <TimeChart
            title="Check-ins per minute"
            start={data.timeline.start}
            stepSeconds={data.timeline.stepSeconds}
            series={[{ label: "check-ins", color: "#1d5fa8", values: data.timeline.checkins }]}
          />
          <TimeChart
            title="Failures and rollbacks per minute"
            start={data.timeline.start}
            stepSeconds={data.timeline.stepSeconds}
            series={[{ label: "failures", color: "#b3261e", values: data.timeline.failures }]}
          />
        </div>
      </section>
      <section>
        <h2>Not seen for an hour ({data.stale.total})</h2>
        {data.stale.total === 0 ? (
          <Empty>Every active device checked in within the last hour.</Empty>
        ) : (
          <ul class="stale">
            {data.stale.devices.map((s) => (
              <li key={s.id}>
                <a href={`#/device/${seg(s.id)}`}>{s.id}</a> {s.version ?? ""} · last seen {ago(s.lastSeen)}
              </li>
            ))}
            {data.stale.total > data.stale.devices.length && (
              <li>
                <a href="#/devices">… and {data.stale.total - data.stale.devices.length} more</a>
              </li>
            )}
          </ul>
        )}
      </section>
    </>
  );
}

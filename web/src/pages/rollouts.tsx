/** Rollouts: start one, watch each one's step and health live, pause, resume or abort it. */
import { useState } from "preact/hooks";
import type { RolloutView } from "../../../src/server/api-schemas.ts";
import { api, seg } from "../api.ts";
import { useData, useReleases, when } from "../data.ts";
import type { PageProps } from "../main.tsx";
import { Action, Empty, Loading, Problem } from "../ui.tsx";

/** One line: where a rollout stands. */
export function RolloutSummary({ rollout: r }: { rollout: RolloutView }) {
  return (
    <span class={`rollout ${r.state}`}>
      {r.state} to {r.to}: step {r.step + 1} of {r.steps.length} ({r.percent}%), {r.devicesOnTarget} on {r.to}
      ; {r.health.confirmed} confirmed, {r.health.failed} failed of {r.health.reported}
      {r.reason ? ` — ${r.reason}` : ""}
    </span>
  );
}

function Steps({ rollout: r }: { rollout: RolloutView }) {
  return (
    <ol class="steps" aria-label="steps">
      {r.steps.map((percent, i) => (
        <li key={percent} class={i < r.step ? "done" : i === r.step ? "now" : ""}>
          {percent}%
        </li>
      ))}
    </ol>
  );
}

function StartForm({ project, onStarted }: { project: string; onStarted: () => void }) {
  const releases = useReleases(project);
  const [form, setForm] = useState({
    channel: "stable",
    version: "",
    steps: "10, 50, 100",
    wait: "3600",
    failure: "10",
    min: "1",
  });
  const set = (key: keyof typeof form) => ({
    value: form[key],
    onInput: (e: Event) => setForm({ ...form, [key]: (e.currentTarget as HTMLInputElement).value }),
  });
  const version = form.version || releases.data?.releases[0]?.version || "";
  return (
    <section aria-labelledby="start-title">
      <h2 id="start-title">Start a rollout</h2>
      <div class="edit wrap">
        <label>
          Channel <input {...set("channel")} />
        </label>
        <label>
          Release
          <select {...set("version")} value={version}>
            {releases.data?.releases.map((r) => (
              <option key={r.version}>{r.version}</option>
            ))}
          </select>
        </label>
        <label>
          Steps (%) <input {...set("steps")} />
        </label>
        <label>
          Wait per step (s) <input inputMode="numeric" {...set("wait")} />
        </label>
        <label>
          Pause above failures (%) <input inputMode="numeric" {...set("failure")} />
        </label>
        <label>
          …and at least (devices) <input inputMode="numeric" {...set("min")} />
        </label>
        <Action
          label="Start rollout"
          run={async () => {
            await api("POST", `/projects/${seg(project)}/rollouts`, {
              channel: form.channel,
              version,
              steps: form.steps
                .split(/[\s,%]+/)
                .filter(Boolean)
                .map(Number),
              minWaitSeconds: Number(form.wait),
              failurePercent: Number(form.failure),
              minFailures: Number(form.min),
            });
            onStarted();
          }}
        />
      </div>
    </section>
  );
}

export function RolloutsPage({ project, canWrite }: PageProps) {
  const list = useData(
    () => api<{ rollouts: RolloutView[] }>("GET", `/projects/${seg(project)}/rollouts`),
    [project],
    ["rollouts", "events", "devices", "audit"],
  );
  const act = (r: RolloutView, action: string) => async () => {
    await api("POST", `/projects/${seg(project)}/rollouts/${r.id}/${action}`);
    list.reload();
  };
  return (
    <>
      {canWrite && <StartForm project={project} onStarted={list.reload} />}
      <section aria-labelledby="list-title">
        <h2 id="list-title">Rollouts</h2>
        <Problem error={list.error} />
        {!list.data ? (
          <Loading />
        ) : list.data.rollouts.length === 0 ? (
          <Empty>No rollouts yet.</Empty>
        ) : (
          list.data.rollouts.map((r) => (
            <article
              key={r.id}
              class={`rollout-card ${r.state}`}
              aria-label={`rollout to ${r.to} on ${r.channel}`}
            >
              <h3>
                {r.channel}: {r.from ?? "nothing"} → {r.to} <span class="state">{r.state}</span>
              </h3>
              <Steps rollout={r} />
              <p>
                <RolloutSummary rollout={r} />
              </p>
              <p class="small">
                started {when(r.createdAt)}; at least {r.minWaitSeconds} s per step; pauses when more than{" "}
                {r.failurePercent}% (and at least {r.minFailures}) of the reporting devices fail
              </p>
              {r.state === "paused" && r.reason && (
                <p class="reason" role="status">
                  Paused: {r.reason}
                </p>
              )}
              {canWrite && (r.state === "running" || r.state === "paused") && (
                <div class="buttons">
                  {r.state === "running" && <Action label="Pause" run={act(r, "pause")} />}
                  {r.state === "paused" && <Action label="Resume" run={act(r, "resume")} />}
                  <Action
                    label="Abort"
                    danger
                    confirm="Abort this rollout? Devices already on the new release stay on it."
                    run={act(r, "abort")}
                  />
                </div>
              )}
            </article>
          ))
        )}
      </section>
    </>
  );
}

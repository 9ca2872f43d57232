/**
 * What the demo tells the person at the terminal: read from the server after each round of wakes
 * (the same state the dashboard shows), one line per notable change, never one per check-in.
 */
import type { AdminClient } from "../server/admin-client.ts";

interface DeviceRow {
  id: string;
  version: string | null;
  state: string | null;
  failed: string | null;
  lastSeen: string | null;
}

export interface RolloutRow {
  id: string;
  to: string;
  steps: number[];
  step: number;
  percent: number;
  state: string;
  reason: string | null;
}

export interface RolloutPlan {
  steps: number[];
  stepWaitSeconds: number;
}

/** Follows the demo project on the server and says what changed since the last look. */
export class FleetNarrator {
  private devices = new Map<string, DeviceRow>();
  private rollout: RolloutRow | undefined;
  private allOn: string | undefined;
  /** Check-ins from before this run (an earlier demo) do not count as "checked in". */
  private readonly since = Date.now();

  constructor(
    private readonly client: AdminClient,
    private readonly project: string,
    private readonly channel: string,
    private readonly boards: readonly string[],
    private readonly say: (line: string) => void,
  ) {}

  /** Every board has checked in at least once. */
  get everyBoardSeen(): boolean {
    return this.devices.size === this.boards.length;
  }

  /** Starts the staged rollout of `version` on the channel. */
  async startRollout(version: string, plan: RolloutPlan): Promise<void> {
    const row = await this.client.request<RolloutRow>("POST", `/projects/${this.project}/rollouts`, {
      channel: this.channel,
      version,
      steps: plan.steps,
      minWaitSeconds: plan.stepWaitSeconds,
      // a demo board that fails its trial pauses the rollout at once
      failurePercent: 0,
      minFailures: 1,
    });
    this.rollout = row;
    this.say(
      `started a staged rollout of ${version} on channel ${this.channel}: ` +
        `${plan.steps.map((s) => `${s}%`).join(" → ")} of the boards, ${plan.stepWaitSeconds} s per step`,
    );
  }

  /** Carries on with a rollout an earlier run started. */
  async followRollout(id: string): Promise<void> {
    this.rollout = await this.client.request<RolloutRow>("GET", `/projects/${this.project}/rollouts/${id}`);
    this.say(
      `carrying on with the rollout of ${this.rollout.to} an earlier run started ` +
        `(${this.rollout.state}, at ${this.rollout.percent}%)`,
    );
  }

  /** Reads the boards and the rollout from the server and says what changed. */
  async look(): Promise<void> {
    const { devices } = await this.client.request<{ devices: DeviceRow[] }>(
      "GET",
      `/projects/${this.project}/devices?limit=1000`,
    );
    await this.lookAtRollout();
    const ours = devices.filter(
      (d) => this.boards.includes(d.id) && d.lastSeen !== null && Date.parse(d.lastSeen) >= this.since,
    );
    const allSeenBefore = this.everyBoardSeen;
    for (const now of ours) {
      const before = this.devices.get(now.id);
      this.devices.set(now.id, now);
      if (!before) continue;
      if (now.failed && now.failed !== before.failed)
        this.say(`${now.id}: ${now.failed} failed on the board; it rolled back to ${now.version}`);
      else if (now.version !== before.version)
        this.say(
          `${now.id}: updated ${before.version} → ${now.version}` +
            (now.state === "trial" ? " (on trial until the app confirms it)" : ", confirmed"),
        );
      else if (before.state === "trial" && now.state === "good")
        this.say(`${now.id}: confirmed ${now.version}`);
    }
    if (!this.everyBoardSeen) return;
    const versions = new Set([...this.devices.values()].map((d) => d.version));
    const only = versions.size === 1 ? ([...versions][0] ?? undefined) : undefined;
    if (!allSeenBefore) {
      const n = this.boards.length;
      this.say(`${n} board${n === 1 ? "" : "s"} checked in: ${byVersion([...this.devices.values()])}`);
      this.allOn = only;
    } else if (only && only !== this.allOn) {
      this.say(`all ${this.boards.length} boards run ${only}`);
      this.allOn = only;
    }
  }

  private async lookAtRollout(): Promise<void> {
    const before = this.rollout;
    if (!before || before.state === "completed" || before.state === "aborted") return;
    const now = await this.client.request<RolloutRow>(
      "GET",
      `/projects/${this.project}/rollouts/${before.id}`,
    );
    this.rollout = now;
    if (now.state === "completed") this.say(`rollout complete: channel ${this.channel} is on ${now.to}`);
    else if (now.state !== before.state)
      this.say(`rollout ${now.state}${now.reason ? `: ${now.reason}` : ""}`);
    else if (now.step !== before.step)
      this.say(
        `rollout at step ${now.step + 1} of ${now.steps.length}: ${now.to} offered to ${now.percent}% of the boards`,
      );
  }
}

/** "3 on 1.0.0, 2 on 1.1.0" or "all on 1.0.0". */
function byVersion(devices: DeviceRow[]): string {
  const counts = new Map<string, number>();
  for (const d of devices) counts.set(d.version ?? "?", (counts.get(d.version ?? "?") ?? 0) + 1);
  if (counts.size === 1) return `all on ${[...counts.keys()][0]}`;
  return [...counts].map(([v, n]) => `${n} on ${v}`).join(", ");
}

import { type Command, InvalidArgumentError } from "commander";
import { addServerOptions, adminClient, output, type ServerCliOptions, serverCall } from "../admin.ts";
import { wholeNumber } from "../options.ts";

interface RolloutRow {
  id: string;
  channel: string;
  from: string | null;
  to: string;
  percent: number;
  state: string;
  reason: string | null;
  health: { reported: number; failed: number; confirmed: number };
}

type ProjectOption = ServerCliOptions & { project: string };

function steps(value: string): number[] {
  const list = value.split(",").map(Number);
  if (list.some((n) => !Number.isFinite(n) || n <= 0 || n > 100))
    throw new InvalidArgumentError("--steps takes percentages like 1,10,50,100");
  return list;
}

const describe = (r: RolloutRow) =>
  `${r.id}  ${r.channel}: ${r.from ?? "-"} → ${r.to}  ${r.state} at ${r.percent}%  ` +
  `(${r.health.confirmed} confirmed, ${r.health.failed} failed of ${r.health.reported} reporting)${r.reason ? `  ${r.reason}` : ""}`;

/** `mpota rollout start|list|show|pause|resume|abort`: staged rollouts on an update server. */
export function registerRollout(program: Command): void {
  const rollout = program
    .command("rollout")
    .description("staged rollouts of a channel to a new release (admin token)");

  addServerOptions(
    rollout
      .command("start")
      .description("move a channel to a release step by step")
      .requiredOption("--project <name>", "project")
      .requiredOption("--release <version>", "the release to roll out (already published)")
      .option("--channel <name>", "channel", "stable")
      .option("--steps <list>", "percentages of devices per step", steps, [1, 10, 50, 100])
      .option("--wait <seconds>", "least time per step", wholeNumber("--wait"), 3600)
      .option(
        "--failure-percent <n>",
        "pause when this % of reporting devices failed or rolled back",
        wholeNumber("--failure-percent", 100),
        10,
      )
      .option(
        "--min-failures <n>",
        "...and at least this many",
        wholeNumber("--min-failures", undefined, 1),
        1,
      ),
  ).action(
    async (
      opts: ProjectOption & {
        release: string;
        channel: string;
        steps: number[];
        wait: number;
        failurePercent: number;
        minFailures: number;
      },
    ) => {
      const client = await adminClient(opts);
      const started = await serverCall(() =>
        client.request<RolloutRow>("POST", `/projects/${encodeURIComponent(opts.project)}/rollouts`, {
          channel: opts.channel,
          version: opts.release,
          steps: opts.steps,
          minWaitSeconds: opts.wait,
          failurePercent: opts.failurePercent,
          minFailures: opts.minFailures,
        }),
      );
      output(opts, started, describe(started));
    },
  );

  addServerOptions(
    rollout.command("list").description("a project's rollouts").requiredOption("--project <name>", "project"),
  ).action(async (opts: ProjectOption) => {
    const client = await adminClient(opts);
    const { rollouts } = await serverCall(() =>
      client.request<{ rollouts: RolloutRow[] }>(
        "GET",
        `/projects/${encodeURIComponent(opts.project)}/rollouts`,
      ),
    );
    output(opts, rollouts, rollouts.map(describe).join("\n") || "no rollouts");
  });

  for (const action of ["show", "pause", "resume", "abort", "advance"] as const) {
    addServerOptions(
      rollout
        .command(action)
        .argument("<id>", "rollout id")
        .description(action === "show" ? "a rollout's state and health" : `${action} a rollout`)
        .requiredOption("--project <name>", "project"),
    ).action(async (id: string, opts: ProjectOption) => {
      const client = await adminClient(opts);
      const path = `/projects/${encodeURIComponent(opts.project)}/rollouts/${encodeURIComponent(id)}`;
      const row = await serverCall(() =>
        action === "show"
          ? client.request<RolloutRow>("GET", path)
          : client.request<RolloutRow>("POST", `${path}/${action}`),
      );
      output(opts, row, describe(row));
    });
  }
}

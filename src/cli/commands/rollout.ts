import { type Command, InvalidArgumentError } from "commander";
import type { AdminClient } from "../../server/admin-client.ts";
import {
  addServerOptions,
  adminClient,
  adminRequest,
  output,
  type ServerCliOptions,
  serverCall,
  typedAs,
} from "../admin.ts";
import { CliError } from "../errors.ts";
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

/**
 * The API path of rollout `id`: below --project when given, else below the project that has it
 * (rollout ids are unique on a server, so `mpota rollout show ID` needs nothing else).
 */
async function rolloutPath(client: AdminClient, id: string, project: string | undefined): Promise<string> {
  const { ServerError } = await import("../../server/admin-client.ts");
  const typed = { id: typedAs("rollout id", id), project: typedAs("--project", project) };
  const path = (p: string) => `/projects/${encodeURIComponent(p)}/rollouts/${encodeURIComponent(id)}`;
  if (project !== undefined) return path(project);
  const { projects } = await serverCall(() =>
    client.request<{ projects: Array<{ name: string }> }>("GET", "/projects"),
  );
  for (const { name } of projects) {
    const found = await serverCall(
      () =>
        client.request("GET", path(name)).then(
          () => true,
          (err: unknown) => {
            if (err instanceof ServerError && err.status === 404) return false;
            throw err;
          },
        ),
      typed,
    );
    if (found) return path(name);
  }
  throw new CliError(
    `no rollout ${id} on ${client.baseUrl} (\`npx mpota rollout list --project P\` lists them)`,
  );
}

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
      const started = await adminRequest<RolloutRow>(
        opts,
        "POST",
        `/projects/${encodeURIComponent(opts.project)}/rollouts`,
        {
          body: {
            channel: opts.channel,
            version: opts.release,
            steps: opts.steps,
            minWaitSeconds: opts.wait,
            failurePercent: opts.failurePercent,
            minFailures: opts.minFailures,
          },
          typed: {
            project: typedAs("--project", opts.project),
            channel: typedAs("--channel", opts.channel),
            version: typedAs("--release", opts.release),
            steps: "--steps",
          },
        },
      );
      output(opts, started, describe(started));
    },
  );

  addServerOptions(
    rollout.command("list").description("a project's rollouts").requiredOption("--project <name>", "project"),
  ).action(async (opts: ProjectOption) => {
    const { rollouts } = await adminRequest<{ rollouts: RolloutRow[] }>(
      opts,
      "GET",
      `/projects/${encodeURIComponent(opts.project)}/rollouts`,
      { typed: { project: typedAs("--project", opts.project) } },
    );
    output(opts, rollouts, rollouts.map(describe).join("\n") || "no rollouts");
  });

  for (const action of ["show", "pause", "resume", "abort", "advance"] as const) {
    addServerOptions(
      rollout
        .command(action)
        .argument("<id>", "rollout id")
        .description(action === "show" ? "a rollout's state and health" : `${action} a rollout`)
        .option("--project <name>", "project (default: the one that has the rollout)"),
    ).action(async (id: string, opts: ServerCliOptions & { project?: string }) => {
      const client = await adminClient(opts);
      const path = await rolloutPath(client, id, opts.project);
      const row = await serverCall(
        () =>
          action === "show"
            ? client.request<RolloutRow>("GET", path)
            : client.request<RolloutRow>("POST", `${path}/${action}`),
        { id: typedAs("rollout id", id), project: typedAs("--project", opts.project) },
      );
      output(opts, row, describe(row));
    });
  }
}

import { writeFileSync } from "node:fs";
import type { Command } from "commander";
import type { OtaConfig } from "../../config/index.ts";
import {
  addServerOptions,
  adminClient,
  adminRequest,
  output,
  type ServerCliOptions,
  serverCall,
  typedAs,
} from "../admin.ts";

interface DeviceRow {
  id: string;
  status: string;
  tags: string[];
  pin: string | null;
  version: string | null;
  state: string | null;
  lastSeen: string | null;
}

type ProjectOption = ServerCliOptions & { project: string };

const collect = (value: string, previous: string[] = []) => [...previous, value];

/**
 * `mpota device …`: the fleet on an update server (add, list, accept, revoke). Other helpers' device
 * subcommands (e.g. `device bundle`) are passed in as registrars and hang under the same command.
 */
export function registerDevice(program: Command, ...subcommands: Array<(device: Command) => void>): Command {
  const device = program.command("device").description("set up and manage boards");

  addServerOptions(
    device
      .command("add")
      .argument("<id>", "device id (letters, digits, . _ : -)")
      .description("provision a device on the server: prints its token and its ota_config.json")
      .requiredOption("--project <name>", "project")
      .option("--tag <tag>", "tag the device (repeatable)", collect)
      .option("--pin <version>", "pin the device to this release")
      .option("--channel <name>", "the channel the device follows", "stable")
      .option("--out <file>", "write the device's ota_config.json here (mode 0600: it holds the token)"),
  ).action(
    async (
      id: string,
      opts: ProjectOption & { tag?: string[]; pin?: string; channel: string; out?: string },
    ) => {
      const client = await adminClient(opts);
      const project = encodeURIComponent(opts.project);
      const created = await serverCall(
        () =>
          client.request<{ id: string; token: string }>("POST", `/projects/${project}/devices`, {
            id,
            ...(opts.tag ? { tags: opts.tag } : {}),
            ...(opts.pin ? { pin: opts.pin } : {}),
          }),
        {
          id: typedAs("device id", id),
          project: typedAs("--project", opts.project),
          pin: typedAs("--pin", opts.pin),
          tags: "--tag",
        },
      );
      const { keys } = await serverCall(
        () => client.request<{ keys: Array<{ publicKey: string }> }>("GET", `/projects/${project}`),
        { project: typedAs("--project", opts.project) },
      );
      const config: OtaConfig = {
        project: opts.project,
        keys: keys.map((k) => k.publicKey),
        source: {
          type: "server",
          url: client.baseUrl,
          channel: opts.channel,
          device_id: id,
          token: created.token,
        },
      };
      const { configJson } = await import("../../config/index.ts");
      const text = configJson(config);
      if (opts.out) writeFileSync(opts.out, text, { mode: 0o600 });
      output(
        opts,
        { id, token: created.token, config },
        `device ${id} added to ${opts.project}\ntoken (shown once): ${created.token}\n` +
          (opts.out ? `wrote ${opts.out}` : `ota_config.json:\n${text.trimEnd()}`),
      );
    },
  );

  addServerOptions(
    device
      .command("list")
      .description("list a project's devices")
      .requiredOption("--project <name>", "project")
      .option("--status <status>", "pending, active or revoked")
      .option("--tag <tag>", "only devices with this tag"),
  ).action(async (opts: ProjectOption & { status?: string; tag?: string }) => {
    const query = new URLSearchParams({
      limit: "1000",
      ...(opts.status ? { status: opts.status } : {}),
      ...(opts.tag ? { tag: opts.tag } : {}),
    });
    const list = await adminRequest<{ total: number; devices: DeviceRow[] }>(
      opts,
      "GET",
      `/projects/${encodeURIComponent(opts.project)}/devices?${query}`,
      {
        typed: {
          project: typedAs("--project", opts.project),
          status: typedAs("--status", opts.status),
          tag: typedAs("--tag", opts.tag),
        },
      },
    );
    const lines = list.devices.map(
      (d) =>
        `${d.id}  ${d.status}  ${d.version ?? "-"}${d.state ? ` (${d.state})` : ""}  seen ${d.lastSeen ?? "never"}${d.tags.length ? `  [${d.tags.join(", ")}]` : ""}`,
    );
    output(opts, list, [...lines, `${list.total} device(s)`].join("\n"));
  });

  for (const [name, status, text] of [
    ["accept", "active", "accept a pending (self-enrolled) device"],
    ["revoke", "revoked", "revoke a device: its token stops working at once (401)"],
  ] as const) {
    addServerOptions(
      device
        .command(name)
        .argument("<id>", "device id")
        .description(text)
        .requiredOption("--project <name>", "project"),
    ).action(async (id: string, opts: ProjectOption) => {
      const row = await adminRequest<DeviceRow>(
        opts,
        "PATCH",
        `/projects/${encodeURIComponent(opts.project)}/devices/${encodeURIComponent(id)}`,
        {
          body: { status },
          typed: { id: typedAs("device id", id), project: typedAs("--project", opts.project) },
        },
      );
      output(opts, row, `device ${id}: ${row.status}`);
    });
  }

  for (const register of subcommands) register(device);
  return device;
}

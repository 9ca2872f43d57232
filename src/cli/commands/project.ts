import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { isHex64 } from "../../rules/hex.ts";
import { addServerOptions, adminRequest, output, type ServerCliOptions, typedAs } from "../admin.ts";
import { CliError } from "../errors.ts";

interface Project {
  name: string;
  autoAccept: boolean;
  enrolment: boolean;
}

/** A public key given as 64 hex chars, or a file holding them (or a PEM public key). */
async function publicKeyHex(value: string): Promise<string> {
  if (isHex64(value)) return value;
  let text: string;
  try {
    text = readFileSync(value, "utf8").trim();
  } catch {
    throw new CliError(`--key ${value}: neither 64 hex chars nor a readable file`);
  }
  if (isHex64(text)) return text;
  const { createPublicKey } = await import("node:crypto");
  try {
    const jwk = createPublicKey(text).export({ format: "jwk" });
    if (jwk.crv === "Ed25519" && jwk.x) return Buffer.from(jwk.x, "base64url").toString("hex");
  } catch {}
  throw new CliError(`--key ${value}: not an Ed25519 public key (64 hex chars or PEM)`);
}

/** `mpota project add|list|show|key|enrolment`: projects on an update server. */
export function registerProject(program: Command): void {
  const project = program.command("project").description("projects on an update server (admin token)");

  addServerOptions(project.command("add").argument("<name>", "project name").description("create a project"))
    .option("--auto-accept", "accept enrolling devices at once (default: they wait as pending)")
    .action(async (name: string, opts: ServerCliOptions & { autoAccept?: boolean }) => {
      const created = await adminRequest<Project>(opts, "POST", "/projects", {
        body: { name, autoAccept: !!opts.autoAccept },
        typed: { name: typedAs("project name", name) },
      });
      output(opts, created, `created project ${name}`);
    });

  addServerOptions(project.command("list").description("list projects")).action(
    async (opts: ServerCliOptions) => {
      const { projects } = await adminRequest<{ projects: Project[] }>(opts, "GET", "/projects");
      output(
        opts,
        projects,
        projects.map((p) => `${p.name}${p.autoAccept ? " (auto-accept)" : ""}`).join("\n") || "no projects",
      );
    },
  );

  addServerOptions(
    project.command("show").argument("<name>").description("a project's keys and channels"),
  ).action(async (name: string, opts: ServerCliOptions) => {
    const shown = await adminRequest<
      Project & { keys: Array<{ keyid: string }>; channels: Array<{ name: string; version: string | null }> }
    >(opts, "GET", `/projects/${encodeURIComponent(name)}`, { typed: { project: typedAs("project", name) } });
    const lines = [
      `project ${shown.name}`,
      `keys: ${shown.keys.map((k) => k.keyid).join(", ") || "none"}`,
      ...shown.channels.map((c) => `channel ${c.name}: ${c.version ?? "-"}`),
    ];
    output(opts, shown, lines.join("\n"));
  });

  addServerOptions(
    project
      .command("key")
      .argument("<name>", "project")
      .description("trust a release public key (mpota keygen prints it)")
      .requiredOption(
        "--key <hex|file>",
        "Ed25519 public key: 64 hex chars, or a file with them or a PEM key",
      ),
  ).action(async (name: string, opts: ServerCliOptions & { key: string }) => {
    const publicKey = await publicKeyHex(opts.key);
    const added = await adminRequest<{ keyid: string }>(
      opts,
      "POST",
      `/projects/${encodeURIComponent(name)}/keys`,
      {
        body: { publicKey },
        typed: { project: typedAs("project", name), publicKey: "--key" },
      },
    );
    output(opts, added, `project ${name} trusts key ${added.keyid}`);
  });

  addServerOptions(
    project
      .command("enrolment")
      .argument("<name>", "project")
      .description("make a new enrolment token for devices to enrol themselves (the old one stops working)")
      .option("--close", "close enrolment instead"),
  ).action(async (name: string, opts: ServerCliOptions & { close?: boolean }) => {
    const path = `/projects/${encodeURIComponent(name)}/enrolment-token`;
    const typed = { project: typedAs("project", name) };
    if (opts.close) {
      await adminRequest(opts, "DELETE", path, { typed });
      output(opts, { closed: true }, `enrolment to ${name} closed`);
      return;
    }
    const { token } = await adminRequest<{ token: string }>(opts, "POST", path, { typed });
    output(opts, { token }, `enrolment token for ${name} (shown once):\n  ${token}`);
  });
}

/**
 * The demo's side of the server, made once and reused: project `greenhouse` with the demo's signing
 * key, the example app's releases, channel `stable` on 1.0.0, and the boards with their device tokens.
 * Everything goes through the admin API, as `mpota project`, `publish --server` and `device add` do.
 */
import { EXAMPLE_PROJECT, exampleRelease } from "../demo/example.ts";
import type { SigningKey } from "../manifest/index.ts";
import { type AdminClient, ServerError } from "../server/admin-client.ts";
import { openStore, type ReleaseStore } from "../store/index.ts";
import type { DemoBoardSecret, DemoFiles } from "./files.ts";
import { nextInStore, nextMinor, publishMissing } from "./publish.ts";

const DEMO_PROJECT = EXAMPLE_PROJECT;
export const DEMO_CHANNEL = "stable";
const FIRST_VERSION = "1.0.0";
const SECOND_VERSION = "1.1.0";

export interface DemoSetup {
  project: string;
  channel: string;
  key: SigningKey;
  store: ReleaseStore;
  /** The demo's boards (the first `boards` of those it ever made), with their device tokens. */
  boards: DemoBoardSecret[];
  /** The release the channel is on now: what the boards start with. */
  current: string;
  /** A rollout already under way on the channel (carried on)... */
  rolloutId?: string;
  /** ...or the release to roll out next. */
  next?: string;
}

interface ProjectView {
  keys: Array<{ publicKey: string }>;
  channels: Array<{ name: string; version: string | null; rollout: string | null }>;
}

/** The board ids of the demo: greenhouse-01, greenhouse-02, … */
const boardId = (i: number) => `${DEMO_PROJECT}-${String(i + 1).padStart(2, "0")}`;

async function getOrNull<T>(call: Promise<T>): Promise<T | null> {
  try {
    return await call;
  } catch (err) {
    if (err instanceof ServerError && err.status === 404) return null;
    throw err;
  }
}

async function ensureProject(client: AdminClient, key: SigningKey, say: (line: string) => void) {
  const path = `/projects/${DEMO_PROJECT}`;
  let project = await getOrNull(client.request<ProjectView>("GET", path));
  if (!project) {
    await client.request("POST", "/projects", { name: DEMO_PROJECT });
    say(`created project ${DEMO_PROJECT}`);
    project = { keys: [], channels: [] };
  } else say(`found project ${DEMO_PROJECT} from an earlier run: reusing its key, releases and boards`);
  if (!project.keys.some((k) => k.publicKey === key.publicKeyHex)) {
    // A project the demo did not make (its keys are not the demo's) is left alone.
    if (project.keys.length > 0)
      throw new Error(
        `this server already has a project "${DEMO_PROJECT}" that the demo did not make; ` +
          "run the demo with another --data folder",
      );
    await client.request("POST", `${path}/keys`, { publicKey: key.publicKeyHex });
  }
  return project;
}

async function ensureBoards(
  client: AdminClient,
  files: DemoFiles,
  count: number,
  say: (line: string) => void,
): Promise<DemoBoardSecret[]> {
  const known = new Map(files.boards().map((b) => [b.id, b]));
  const devices = `/projects/${DEMO_PROJECT}/devices`;
  let made = 0;
  for (let i = 0; i < count; i++) {
    const id = boardId(i);
    const device = await getOrNull(client.request<{ status: string }>("GET", `${devices}/${id}`));
    let token: string | undefined;
    if (!device) {
      ({ token } = await client.request<{ token: string }>("POST", devices, { id }));
    } else if (device.status !== "active" || !known.has(id)) {
      // Revoked by hand, or its token was lost: the board gets a new token.
      if (device.status !== "active") await client.request("PATCH", `${devices}/${id}`, { status: "active" });
      ({ token } = await client.request<{ token: string }>("POST", `${devices}/${id}/token`));
    }
    if (token === undefined) continue;
    // Saved at once: a device token is shown only once, so none may be lost to a later failure.
    known.set(id, { id, token });
    made++;
    files.saveBoards([...known.values()]);
  }
  if (made > 0) say(`provisioned ${made} board${made === 1 ? "" : "s"} with device tokens`);
  return Array.from({ length: count }, (_, i) => known.get(boardId(i))!);
}

/** Sets up (or finds) everything the demo needs on the server; safe to run again and again. */
export async function setupDemo(options: {
  client: AdminClient;
  files: DemoFiles;
  boards: number;
  say: (line: string) => void;
}): Promise<DemoSetup> {
  const { client, files, say } = options;
  const { key, created } = files.signingKey();
  if (created) say(`made the demo's release signing key ${files.keyFile}`);
  const store = openStore(files.storeDir);
  for (const [version, variant] of [
    [FIRST_VERSION, "plain"],
    [SECOND_VERSION, "dew-point"],
  ] as const) {
    if (!store.hasRelease(DEMO_PROJECT, version)) await exampleRelease(store, key, version, variant);
  }
  const project = await ensureProject(client, key, say);
  const published = await publishMissing(client, store, DEMO_PROJECT);
  if (published.length > 0) say(`published releases ${published.join(", ")} of the example app`);
  let channel = project.channels.find((c) => c.name === DEMO_CHANNEL);
  if (!channel?.version && !channel?.rollout) {
    await client.request("PUT", `/projects/${DEMO_PROJECT}/channels/${DEMO_CHANNEL}`, {
      version: FIRST_VERSION,
    });
    say(`channel ${DEMO_CHANNEL} -> ${FIRST_VERSION}`);
    channel = { name: DEMO_CHANNEL, version: FIRST_VERSION, rollout: null };
  }
  const boards = await ensureBoards(client, files, options.boards, say);
  const current = channel.version ?? FIRST_VERSION;
  const setup: DemoSetup = { project: DEMO_PROJECT, channel: DEMO_CHANNEL, key, store, boards, current };
  if (channel.rollout) return { ...setup, rolloutId: channel.rollout };
  let next = nextInStore(store, DEMO_PROJECT, current);
  if (next === undefined) {
    // Every release was rolled out already (an earlier run): the story goes on with a new one.
    next = nextMinor(store, DEMO_PROJECT);
    await exampleRelease(store, key, next, "dew-point");
    await publishMissing(client, store, DEMO_PROJECT);
    say(`published release ${next} of the example app`);
  }
  return { ...setup, next };
}

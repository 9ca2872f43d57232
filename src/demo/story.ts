/**
 * The update story `mpota demo` tells, step by step, checking at each step that the board did what the
 * story says: a board on 1.0.0, an update to 1.1.0 it confirms, a broken 1.2.0 it rolls back from.
 */
import pc from "picocolors";
import { type DecodedRecord, decodePack, PACK_KEY_BYTES } from "../delta/index.ts";
import { MpotaError } from "../errors/index.ts";
import type { FileEntry } from "../manifest/index.ts";
import type { BuiltRelease } from "../release/index.ts";
import type { VirtualDevice } from "../sim/index.ts";
import type { ReleaseStore } from "../store/index.ts";
import { type BoardRun, type BoardStatus, boardStatus, demoBoard, runBoard } from "./board.ts";
import { EXAMPLE_PROJECT, type ExampleVariant } from "./example.ts";
import { DEMO_CHANNEL, type DemoSite, openDemoSite } from "./site.ts";
import { type Download, traffic } from "./traffic.ts";

/** The board did not do what the story says: the message says what it did instead. */
export class DemoFailure extends MpotaError {
  constructor(message: string) {
    super("demo", message);
  }
}

type Say = (line: string) => void;

function formatBytes(n: number): string {
  return n < 10_000 ? `${n.toLocaleString("en-US")} bytes` : `${(n / 1024).toFixed(1)} KB`;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** `text` in lines of at most `width` characters, broken between words. */
function wrap(text: string, width = 100): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  lines.push(line);
  return lines;
}

function expectStarted(run: BoardRun, expected: string[], what: string): void {
  if (run.result.end !== "returned")
    throw new DemoFailure(
      `${what}: the board did not finish its run (${run.result.end}: ${run.result.error})`,
    );
  if (run.started.join(" ") !== expected.join(" "))
    throw new DemoFailure(
      `${what}: the board should have started ${expected.join(", then ")}, ` +
        `but started ${run.started.join(", then ") || "nothing"}`,
    );
}

async function expectStatus(device: VirtualDevice, version: string, what: string): Promise<BoardStatus> {
  const status = await boardStatus(device);
  if (status.version !== version || status.state !== "good")
    throw new DemoFailure(
      `${what}: the board should run ${version}, confirmed, but mpota.status() says ${status.version} (${status.state})`,
    );
  return status;
}

/** The files of `after` that are not in `before` at the same path. */
function changedFiles(before: BuiltRelease, after: BuiltRelease) {
  const old = new Map(before.envelope.signed.files.map((f) => [f.path, f.sha256]));
  return after.envelope.signed.files.filter((f) => old.get(f.path) !== f.sha256);
}

/** What the board downloaded to install `release` over `before`, as a sentence. */
function fetched(downloads: Download[], before: BuiltRelease, release: BuiltRelease): string {
  const sent = downloads.filter((d) => d.bytes > 0); // not the checks answered "unchanged"
  const bytes = sent.reduce((sum, d) => sum + d.bytes, 0);
  const patches = sent.filter((d) => d.kind === "patch").length;
  const blobs = sent.filter((d) => d.kind === "blob").length;
  const packed = sent.some((d) => d.kind === "pack");
  const files = [
    patches && `${plural(patches, "file")} as a delta patch`,
    blobs && plural(blobs, "whole file"),
  ];
  const what = packed
    ? `the channel pointer and one update pack: the signed manifest as a patch of ${before.envelope.signed.version}'s and every changed file` +
      (patches || blobs ? `, then ${files.filter(Boolean).join(" and ")}` : "")
    : `the channel pointer, the signed manifest and ${files.filter(Boolean).join(" and ")}`;
  const total = release.envelope.signed.files.length;
  return (
    `To update, the board downloaded ${formatBytes(bytes)}: ${what}, where the whole release is ` +
    `${formatBytes(release.zsize)} compressed. The other ${total - changedFiles(before, release).length} files ` +
    `were already on the board (same SHA-256) and were copied from ${before.envelope.signed.version}'s slot.`
  );
}

/**
 * Which files changed from `before` to `after`, and the delta patches the store keeps for them: in the
 * signed lists, or in the update pack from `before`.
 */
function changes(store: ReleaseStore, before: BuiltRelease, after: BuiltRelease): string {
  const old = new Map(before.envelope.signed.files.map((f) => [f.path, f.sha256]));
  const changed = changedFiles(before, after);
  const pack = store.hasPack(before.sha256, after.sha256)
    ? new Map(decodePack(store.readPack(before.sha256, after.sha256)).map((r) => [r.key, r]))
    : new Map<string, DecodedRecord>();
  const patchSize = (f: FileEntry) => {
    const listed = f.blobs.patches?.find((p) => p.from_sha256 === old.get(f.path));
    const record = pack.get(f.sha256.slice(0, PACK_KEY_BYTES * 2));
    return listed?.size ?? (record && record.kind !== "z" ? record.data.length : undefined);
  };
  const patches = changed.flatMap((f) => {
    const size = patchSize(f);
    return size === undefined
      ? []
      : [`${f.path}: ${formatBytes(size)}, where the whole file is ${formatBytes(f.blobs.zlib)} compressed`];
  });
  const paths = changed.map((f) => f.path).join(", ");
  return (
    `${paths} ${changed.length === 1 ? "is the only file that changed" : "changed"}; ` +
    (patches.length
      ? `the store keeps a delta patch from ${before.envelope.signed.version} (${patches.join("; ")}).`
      : "no delta patch was smaller than the files.")
  );
}

export interface StoryOptions {
  /** The flavour of the "broken" 1.2.0 (default `crash`); another one shows the story's checks failing. */
  broken?: ExampleVariant;
}

/** What the steps share: the site, the board, the releases, and how to tell and to run. */
interface Story {
  site: DemoSite;
  device: VirtualDevice;
  releases: Record<"1.0.0" | "1.1.0" | "1.2.0", BuiltRelease>;
  /** A paragraph, wrapped. */
  tell: (text: string) => void;
  /** One run of the board; `downloads` then holds what it fetched. */
  run: () => Promise<BoardRun>;
  downloads: () => Download[];
}

async function firstBoot(story: Story): Promise<void> {
  const run = await story.run();
  expectStarted(run, ["1.0.0"], "first boot");
  await expectStatus(story.device, "1.0.0", "first boot");
  if (story.downloads().some((d) => d.kind !== "channel"))
    throw new DemoFailure(
      "first boot: the board should only have checked the channel, but it downloaded more",
    );
  story.tell(
    "The board runs 1.0.0 (its three one-minute sleeps took no real time: the virtual board has its own " +
      "clock). After its readings the app confirmed its release and asked for an update: the channel " +
      "still says 1.0.0, so the board downloaded nothing but the channel pointer.",
  );
}

async function goodUpdate(story: Story): Promise<void> {
  story.site.publish("1.1.0");
  story.tell(`Published 1.1.0 on "${DEMO_CHANNEL}". The board runs again…`);
  const run = await story.run();
  expectStarted(run, ["1.0.0", "1.1.0"], "update to 1.1.0");
  await expectStatus(story.device, "1.1.0", "update to 1.1.0");
  story.tell(fetched(story.downloads(), story.releases["1.0.0"], story.releases["1.1.0"]));
  story.tell(
    `It checked every file, switched slots, reset (${plural(run.result.reboots, "reboot")}) and started ` +
      "1.1.0 on trial; 1.1.0 did its readings and confirmed itself: 1.1.0 is now the good release.",
  );
}

async function brokenUpdate(story: Story): Promise<void> {
  story.site.publish("1.2.0");
  story.tell(`Published 1.2.0 on "${DEMO_CHANNEL}". The board runs again…`);
  const run = await story.run();
  expectStarted(run, ["1.1.0", "1.2.0", "1.1.0"], "broken 1.2.0");
  const status = await expectStatus(story.device, "1.1.0", "broken 1.2.0");
  if (status.failed !== "1.2.0" || !status.why?.startsWith("crashed"))
    throw new DemoFailure(
      "broken 1.2.0: mpota.status() should name 1.2.0 as failed because it crashed, but says failed " +
        `${status.failed}, why ${status.why}`,
    );
  story.tell(fetched(story.downloads(), story.releases["1.1.0"], story.releases["1.2.0"]));
  story.tell(
    "The board installed 1.2.0 and reset into it on trial. 1.2.0 crashed before confirming itself, so " +
      `the loader put 1.1.0 back on its own and reset again (${plural(run.result.reboots, "reboot")} in all). ` +
      "A release that never calls mpota.confirm() goes back the same way after its 3 trial boots (and one " +
      "that hangs, when the config sets trial.watchdog_ms). 1.1.0 runs again and will not retry 1.2.0: " +
      "publish a fixed 1.2.1 to move on.",
  );
  const lastError = status.last_error
    ? `${status.last_error.code}: ${status.last_error.message}`
    : "none (the update itself went fine)";
  story.tell(
    `Asked on the board's REPL, mpota.status() says: version ${status.version} (${status.state}), ` +
      `failed ${status.failed}, why "${status.why}"; last_error: ${lastError}.`,
  );
}

/** Tells the story; throws DemoFailure when the board strays from it. Cleans up after itself. */
export async function tellStory(say: Say, options: StoryOptions = {}): Promise<void> {
  const tell = (text: string) => {
    for (const line of wrap(text)) say(line);
  };
  const heading = (text: string) => {
    say("");
    say(pc.bold(text));
  };
  let names = traffic();
  let downloads: Download[] = [];
  const site = await openDemoSite((request) => {
    const download = names.describe(request);
    downloads.push(download);
    const sum = downloads.reduce((total, d) => total + d.bytes, 0);
    const size = download.bytes ? `: ${formatBytes(download.bytes)}` : "";
    const soFar = download.bytes && sum > download.bytes ? ` (${formatBytes(sum)} this run)` : "";
    say(pc.cyan(`  site  │ sent ${download.what}${size}${soFar}`));
  });
  names = traffic(site.root); // its check answers are told from their pointers by the site's files
  let device: VirtualDevice | undefined;
  try {
    say(pc.bold("1. Releases"));
    tell(`Made a signing key (Ed25519, key id ${site.key.keyId}); boards get only its public key.`);
    const releases = {
      "1.0.0": await site.release("1.0.0", "plain"),
      "1.1.0": await site.release("1.1.0", "dew-point"),
      "1.2.0": await site.release("1.2.0", options.broken ?? "crash"),
    };
    for (const built of Object.values(releases)) names.learn(built.envelope.signed, built.sha256);
    const first = releases["1.0.0"];
    tell(
      `Built ${EXAMPLE_PROJECT} 1.0.0 from examples/greenhouse: ${first.envelope.signed.files.length} files ` +
        `with the mpota package, ${formatBytes(first.size)} (${formatBytes(first.zsize)} compressed), signed.`,
    );
    tell(`Built 1.1.0: it also prints the dew point. ${changes(site.store, first, releases["1.1.0"])}`);
    tell(
      "Built 1.2.0, a broken one: it reads a pressure sensor this board does not have and crashes at start.",
    );
    site.publish("1.0.0");
    tell(
      `Published 1.0.0 on channel "${DEMO_CHANNEL}" of a static site served at ${site.url}/ ` +
        "(any web server, object store or CDN can host such a site).",
    );

    heading("2. A board on 1.0.0");
    tell(
      "Set up a virtual board (the real MicroPython 1.27 interpreter, with Wi-Fi) as `mpota device bundle` " +
        "does: the loader, the config (site, channel, public key) and 1.0.0 in slot 0. Powering it on…",
    );
    device = demoBoard(site.board("1.0.0"));
    const board = device;
    const story: Story = {
      site,
      device: board,
      releases,
      tell,
      run: () => {
        downloads = [];
        return runBoard(board, say);
      },
      downloads: () => downloads,
    };
    await firstBoot(story);
    heading("3. An update: 1.1.0");
    await goodUpdate(story);
    heading("4. A broken release: 1.2.0");
    await brokenUpdate(story);
  } finally {
    await device?.close();
    await site.close();
  }
}

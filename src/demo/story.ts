/**
 * The update story `mpota demo` tells, step by step, checking at each step that the board did what the
 * story says: a board on 1.0.0, an update to 1.1.0 it confirms, a broken 1.2.0 it rolls back from.
 */
import pc from "picocolors";
import type { BuiltRelease } from "../release/index.ts";
import type { VirtualDevice } from "../sim/index.ts";
import { type BoardRun, boardStatus, demoBoard, runBoard } from "./board.ts";
import { EXAMPLE_PROJECT, type ExampleVariant } from "./example.ts";
import { DEMO_CHANNEL, type DemoSite, openDemoSite } from "./site.ts";
import { type Download, traffic } from "./traffic.ts";

/** The board did not do what the story says: the message says what it did instead. */
export class DemoFailure extends Error {
  override name = "DemoFailure";
}

type Say = (line: string) => void;

export function formatBytes(n: number): string {
  return n < 10_000 ? `${n.toLocaleString("en-US")} bytes` : `${(n / 1024).toFixed(1)} KB`;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

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

async function expectStatus(
  device: VirtualDevice,
  version: string,
  what: string,
): Promise<Awaited<ReturnType<typeof boardStatus>>> {
  const status = await boardStatus(device);
  if (status.version !== version || status.state !== "good")
    throw new DemoFailure(
      `${what}: the board should run ${version}, confirmed, but mpota.status() says ${status.version} (${status.state})`,
    );
  return status;
}

/** What the board downloaded to install a release, as a sentence. */
function fetched(downloads: Download[], release: BuiltRelease, from: string): string {
  const sent = downloads.filter((d) => d.bytes > 0); // not the checks answered "unchanged"
  const bytes = sent.reduce((sum, d) => sum + d.bytes, 0);
  const patches = sent.filter((d) => d.kind === "patch").length;
  const blobs = sent.filter((d) => d.kind === "blob").length;
  const files = [
    patches && `${plural(patches, "file")} as a delta patch`,
    blobs && plural(blobs, "whole file"),
  ];
  const total = release.envelope.signed.files.length;
  return (
    `To update, the board downloaded ${formatBytes(bytes)}: the channel pointer, the signed manifest and ` +
    `${files.filter(Boolean).join(" and ")} (the whole release is ${formatBytes(release.zsize)} compressed). ` +
    `The other ${total - patches - blobs} files were already on the board (same SHA-256) and were copied ` +
    `from ${from}'s slot.`
  );
}

export interface StoryOptions {
  /** The flavour of the "broken" 1.2.0 (default `crash`); another one shows the story's checks failing. */
  broken?: ExampleVariant;
}

/** Tells the story; throws DemoFailure when the board strays from it. Cleans up after itself. */
export async function tellStory(say: Say, options: StoryOptions = {}): Promise<void> {
  const names = traffic();
  let downloads: Download[] = [];
  const site: DemoSite = await openDemoSite((request) => {
    const download = names.describe(request);
    downloads.push(download);
    const run = downloads.reduce((sum, d) => sum + d.bytes, 0);
    const size = download.bytes ? `: ${formatBytes(download.bytes)}` : "";
    const total = run > download.bytes ? ` (${formatBytes(run)} this run)` : "";
    say(pc.cyan(`  site  │ sent ${download.what}${size}${total}`));
  });
  const boards: VirtualDevice[] = [];
  const run = async (device: VirtualDevice) => {
    downloads = [];
    return runBoard(device, say);
  };
  try {
    say(pc.bold("1. Releases"));
    say(`Made a signing key (Ed25519, key id ${site.key.keyId}); boards get only its public key.`);
    const releases = {
      "1.0.0": await site.release("1.0.0", "plain"),
      "1.1.0": await site.release("1.1.0", "dew-point"),
      "1.2.0": await site.release("1.2.0", options.broken ?? "crash"),
    };
    for (const built of Object.values(releases)) names.learn(built.envelope.signed);
    say(
      `Built ${EXAMPLE_PROJECT} 1.0.0 from examples/greenhouse: ${releases["1.0.0"].envelope.signed.files.length} files with the mpota package, ` +
        `${formatBytes(releases["1.0.0"].size)} (${formatBytes(releases["1.0.0"].zsize)} compressed), signed.`,
    );
    say(
      `Built 1.1.0: it also prints the dew point. Only main.py changed, so the store also holds a ` +
        `delta patch from 1.0.0's main.py.`,
    );
    say(
      `Built 1.2.0: a broken one, it reads a pressure sensor this board does not have and crashes at start.`,
    );
    site.publish("1.0.0");
    say(`Published 1.0.0 on channel "${DEMO_CHANNEL}" of a static site served at ${site.url}/`);
    say("(any web server, object store or CDN can host such a site).");

    say("");
    say(pc.bold("2. A board on 1.0.0"));
    say(
      "Set up a virtual board (the real MicroPython 1.27 interpreter, with Wi-Fi) as `mpota device bundle`",
    );
    say("does: the loader, the config (site, channel, public key) and 1.0.0 in slot 0. Powering it on…");
    const device = demoBoard(site.board("1.0.0"));
    boards.push(device);
    const first = await run(device);
    expectStarted(first, ["1.0.0"], "first boot");
    await expectStatus(device, "1.0.0", "first boot");
    say(
      `The board runs 1.0.0 (its three one-minute sleeps took no real time: the virtual board has its own ` +
        `clock). After its readings the app confirmed its release and asked for an update: the channel ` +
        `still says 1.0.0, so the board downloaded nothing but the channel pointer.`,
    );

    say("");
    say(pc.bold("3. An update: 1.1.0"));
    site.publish("1.1.0");
    say(`Published 1.1.0 on "${DEMO_CHANNEL}". The board runs again…`);
    const second = await run(device);
    expectStarted(second, ["1.0.0", "1.1.0"], "update to 1.1.0");
    await expectStatus(device, "1.1.0", "update to 1.1.0");
    say(fetched(downloads, releases["1.1.0"], "1.0.0"));
    say(
      `It checked every file, switched slots, reset (${plural(second.result.reboots, "reboot")}) and started ` +
        `1.1.0 on trial; 1.1.0 did its readings and confirmed itself: 1.1.0 is now the good release.`,
    );

    say("");
    say(pc.bold("4. A broken release: 1.2.0"));
    site.publish("1.2.0");
    say(`Published 1.2.0 on "${DEMO_CHANNEL}". The board runs again…`);
    const third = await run(device);
    expectStarted(third, ["1.1.0", "1.2.0", "1.1.0"], "broken 1.2.0");
    const status = await expectStatus(device, "1.1.0", "broken 1.2.0");
    if (status.failed !== "1.2.0" || !status.why?.startsWith("crashed"))
      throw new DemoFailure(
        `broken 1.2.0: mpota.status() should name 1.2.0 as failed because it crashed, but says failed ` +
          `${status.failed}, why ${status.why}`,
      );
    say(fetched(downloads, releases["1.2.0"], "1.1.0"));
    say(
      `The board installed 1.2.0 and reset into it on trial. 1.2.0 crashed before confirming itself, so ` +
        `the loader put 1.1.0 back on its own and reset again (${plural(third.result.reboots, "reboot")} in all).`,
    );
    say("1.1.0 runs again and will not retry 1.2.0: publish a fixed 1.2.1 to move on.");
    say(
      `Asked on the board's REPL, mpota.status() says: version ${status.version} (${status.state}), failed ${status.failed},`,
    );
    say(
      `  why "${status.why}"; last_error: ${status.last_error ? `${status.last_error.code}: ${status.last_error.message}` : "none (the update itself went fine)"}.`,
    );
  } finally {
    for (const board of boards) await board.close();
    await site.close();
  }
}

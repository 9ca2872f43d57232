/**
 * Transports (ota_config.json "transports", device/mpota/transport.py and modem.py) on the virtual
 * device: Wi-Fi networks in turn, Ethernet, a cellular modem dialled with AT commands, falling through
 * from one to the next, and the cap of a metered link refusing an update before any blob is fetched.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  faultFixture,
  printed,
  runCommand,
  runDeviceScript,
  sameTree,
  slotTree,
  testApp,
} from "../../testing/board.ts";
import { packPath } from "../../testing/pack.ts";
import { currentState } from "../client/state-record.ts";
import type { VirtualDevice } from "../sim/index.ts";

const fixture = faultFixture();
const { config, board, release, publish, boardFiles } = fixture;

const v100 = testApp("1.0.0", { "lib/data.txt": "a".repeat(20_000) });
const v110 = testApp("1.1.0", { "lib/data.txt": "b".repeat(20_000) });
const v120 = testApp("1.2.0", { "lib/data.txt": "c".repeat(20_000) });

const LAB = { ssid: "lab", password: "pw" };
const PPP = { type: "ppp", uart: 1, apn: "iot.example", sim_pin: "1234", timeout_s: 5 };
const MODEM = { uart: 1, simPin: "1234", apn: "iot.example" };

beforeAll(async () => {
  await fixture.start();
  release("1.0.0", v100);
  release("1.1.0", v110);
  publish("stable", "1.1.0");
  release("1.2.0", v120, { packFrom: ["1.0.0"] });
  publish("packed", "1.2.0");
});
afterEach(() => {
  fixture.server.requests.length = 0;
  return fixture.closeBoards();
});
afterAll(fixture.close);

/** A board on 1.0.0 whose config lists `transports` (reset_mode none: the update's result is printed). */
function transportBoard(transports: unknown[], options: Parameters<typeof board>[1] = {}) {
  return board(
    boardFiles(config("stable", { transports, reset_mode: "none", timeout_s: 2 }), "1.0.0"),
    options,
  );
}

/** The state record and slot 0 as they were: the board still runs 1.0.0, untouched. */
function untouched(device: VirtualDevice, before: Record<string, Uint8Array>) {
  const after = device.files();
  expect(currentState(after)).toEqual(currentState(before));
  expect(sameTree(slotTree(after, 0), v100)).toBe(true);
  expect(Object.keys(after).some((p) => p.startsWith(".mpota/slot1") || p.startsWith(".mpota/tmp/"))).toBe(
    false,
  );
}

const envelopeOf = (version: string) => readFileSync(fixture.paths.release(version));
const blobRequests = () => fixture.server.requests.filter((q) => q.path.includes("/blobs/"));
/** The channel's pointer alone, which a board with a metered link asks for (no update pack with it). */
const pointerOnly = (channel: string) => `/${fixture.project}/channels/${channel}.json`;

describe("transports", () => {
  it("Wi-Fi down: the update falls through to PPP over the modem, which carries every byte", async () => {
    const device = transportBoard([{ type: "wlan", networks: [LAB] }, PPP], { wifi: "fail", modem: MODEM });
    const r = await runCommand(device, "update");
    const result = printed(r.output, "update");
    expect(result).toMatchObject({ ok: true, installed: "1.1.0", transport: { type: "ppp" } });
    // The release bytes the update counted (envelope + blob) came over PPP, with the HTTP around them.
    expect(result.transport.bytes).toBeGreaterThan(1000);
    expect(r.linkBytes.ppp).toBeGreaterThan(result.transport.bytes);
    expect(r.linkBytes.wlan).toBe(0);
    expect(r.modemCommands).toEqual([
      "AT",
      "ATE0",
      "AT+CPIN?",
      'AT+CPIN="1234"',
      'AT+CGDCONT=1,"IP","iot.example"',
      "ATD*99#",
    ]);
    expect(currentState(device.files())).toMatchObject({ slot: 1, state: "trial" });
  });

  it("Wi-Fi tries each network in turn and is used when one answers; the modem is never woken", async () => {
    const device = transportBoard([{ type: "wlan", networks: [{ ssid: "gone", password: "x" }, LAB] }, PPP], {
      wifi: LAB,
      modem: MODEM,
    });
    const r = await runCommand(device, "update");
    expect(printed(r.output, "update")).toMatchObject({
      ok: true,
      installed: "1.1.0",
      transport: { type: "wlan" },
    });
    expect(r.linkBytes).toMatchObject({ ppp: 0, lan: 0 });
    expect(r.linkBytes.wlan).toBeGreaterThan(0);
    expect(r.modemCommands).toEqual([]);
  });

  it("Ethernet (network.LAN) carries the update; a port without a cable falls through to the next", async () => {
    const wired = transportBoard([{ type: "lan", phy_type: "LAN8720", mdc: 23, mdio: 18 }], {
      wifi: "fail",
      lan: "up",
    });
    const r = await runCommand(wired, "check");
    expect(printed(r.output, "check")).toEqual({
      ok: true,
      version: "1.0.0",
      available: "1.1.0",
      transport: "lan",
    });
    expect(r.linkBytes.lan).toBeGreaterThan(0);

    const unplugged = transportBoard([{ type: "lan" }, { type: "wlan", networks: [LAB] }], {
      wifi: LAB,
      lan: "down",
    });
    const u = await runCommand(unplugged, "check");
    expect(printed(u.output, "check")).toMatchObject({ ok: true, transport: "wlan" });
    expect(u.linkBytes.lan).toBe(0);
  });

  it("no transport connects: a network error naming why each failed, no request, nothing written", async () => {
    const device = transportBoard([{ type: "wlan", networks: [LAB] }, { type: "lan" }, PPP], {
      wifi: "fail",
      modem: { ...MODEM, silent: true },
    });
    const before = device.files();
    const r = await runCommand(device, "update");
    const result = printed(r.output, "update");
    expect(result.ok).toBe(false);
    expect(result.error.code).toBe("network");
    expect(result.error.message).toBe(
      "no transport connected (wlan: could not join lab within 2 s each; lan: OSError [Errno 19] ENODEV; " +
        "ppp: the modem on UART 1 does not answer AT)",
    );
    expect(fixture.server.requests).toEqual([]);
    expect(r.netConnections).toBe(0);
    untouched(device, before);
  });

  it("a wrong SIM PIN or APN fails the link without putting the PIN in the message", async () => {
    const wrongPin = transportBoard([{ ...PPP, sim_pin: "9999" }], { wifi: "fail", modem: MODEM });
    const r = await runCommand(wrongPin, "check");
    expect(printed(r.output, "check").error).toEqual({
      code: "network",
      message:
        "no transport connected (ppp: the modem answered +CME ERROR: incorrect password to AT+CPIN=<sim_pin>)",
    });
    expect(r.output).not.toContain("9999");
    const wrongApn = transportBoard([{ ...PPP, apn: "other" }], { wifi: "fail", modem: MODEM });
    const a = await runCommand(wrongApn, "check");
    expect(printed(a.output, "check").error.message).toBe(
      "no transport connected (ppp: the modem answered NO CARRIER to ATD*99#)",
    );
  });

  it("a metered link refuses an update over its cap before any blob byte; the board stays on its release", async () => {
    const capped = { ...PPP, max_update_bytes: 2000, cost_per_mb: 2 };
    const device = transportBoard([{ type: "wlan", networks: [LAB] }, capped], {
      wifi: "fail",
      modem: MODEM,
    });
    const before = device.files();
    const r = await runCommand(device, "update");
    const result = printed(r.output, "update");
    expect(result.ok).toBe(false);
    expect(result.error.code).toBe("metered");
    expect(result.error.message).toMatch(
      /^the update needs \d+ bytes over ppp, more than its max_update_bytes of 2000; it waits for another transport$/,
    );
    expect(blobRequests()).toEqual([]);
    expect(fixture.server.requests.map((q) => q.path)).toEqual([
      pointerOnly("stable"), // a board with a metered link takes no update pack with its check answer
      expect.stringMatching(/\/packs\/[0-9a-f]{16}-[0-9a-f]{16}\.pack$/), // the update pack: none here
      expect.stringMatching(/\/patches\/[0-9a-f]{64}-[0-9a-f]{64}\.fz$/), // the envelope as a patch: none here
      fixture.releasePath("1.1.0"),
    ]);
    untouched(device, before);
    expect(r.output).not.toContain("running 1.1.0");

    // Back in Wi-Fi range, the same board installs it over the free link.
    const home = board(device.files(), { wifi: LAB, modem: MODEM });
    const wifi = printed((await runCommand(home, "update")).output, "update");
    expect(wifi).toMatchObject({ ok: true, installed: "1.1.0", transport: { type: "wlan" } });

    // Under a cap it can carry, the same link installs and says what the update cost.
    const roomy = transportBoard([{ ...capped, max_update_bytes: 1_000_000 }], {
      wifi: "fail",
      modem: MODEM,
    });
    const ok = printed((await runCommand(roomy, "update")).output, "update");
    expect(ok).toMatchObject({ ok: true, installed: "1.1.0", transport: { type: "ppp" } });
    expect(ok.transport.cost).toBeCloseTo((ok.transport.bytes * 2) / 1_000_000, 9);
  });

  it("a metered link takes an update pack within its cap, and no pack over it", async () => {
    const pack = readFileSync(
      join(fixture.site, packPath(fixture.project, envelopeOf("1.0.0"), envelopeOf("1.2.0"))),
    );
    const metered = (cap: number) =>
      board(
        boardFiles(
          config("packed", {
            transports: [{ ...PPP, max_update_bytes: cap }],
            reset_mode: "none",
            timeout_s: 2,
          }),
          "1.0.0",
        ),
        { wifi: "fail", modem: MODEM },
      );
    // Within the cap: the pack alone, and the update says it carried the pack's bytes.
    const within = printed((await runCommand(metered(pack.length), "update")).output, "update");
    expect(within).toMatchObject({
      ok: true,
      installed: "1.2.0",
      transport: { type: "ppp", bytes: pack.length },
    });
    expect(fixture.server.requests.map((q) => q.path)).toEqual([
      pointerOnly("packed"),
      expect.stringMatching(/\/packs\/[0-9a-f]{16}-[0-9a-f]{16}\.pack$/),
    ]);
    // One byte over: the pack is refused by its length before its body, and the update by the cap.
    fixture.server.requests.length = 0;
    const over = printed((await runCommand(metered(pack.length - 1), "update")).output, "update");
    expect(over).toMatchObject({ ok: false, error: { code: "metered" } });
    expect(blobRequests()).toEqual([]);
  });

  it("a config without transports never loads their code; with them, their rules are dropped once checked", async () => {
    const script = (cfg: unknown) => `
import json, sys
with open("/ota_config.json", "w") as f:
    f.write(${JSON.stringify(JSON.stringify(cfg))})
from mpota import config
config.load()
print(json.dumps(sorted(m for m in sys.modules if m.startswith("mpota."))))
`;
    const plain = config("stable", { wifi: LAB });
    const without = await runDeviceScript(script(plain));
    expect(without.value).toEqual(["mpota.config", "mpota.config_cache", "mpota.errors", "mpota.version"]);
    const withTransports = await runDeviceScript(script({ ...config("stable"), transports: [PPP] }));
    // Checked (config.test.ts runs their bad cases through the board), then dropped before the phase ends.
    expect(withTransports.value).toEqual([
      "mpota.config",
      "mpota.config_cache",
      "mpota.errors",
      "mpota.version",
    ]);
  });

  it("the PPP link stays up between calls: a second check reuses it without dialling again", async () => {
    const device = transportBoard([PPP], { wifi: "fail", modem: MODEM });
    const r = await device.run({
      boot: true,
      script:
        "import mpota, json\nprint('a', json.dumps(mpota.check()))\nprint('b', json.dumps(mpota.check()))",
    });
    expect(printed(r.output, "a")).toMatchObject({ ok: true, available: "1.1.0", transport: "ppp" });
    expect(printed(r.output, "b")).toMatchObject({ ok: true, available: "1.1.0", transport: "ppp" });
    expect(r.modemCommands.filter((c) => c === "ATD*99#")).toEqual(["ATD*99#"]);
    expect(r.linkBytes.wlan).toBe(0);
  });
});

/** The virtual board's links (worker/links.ts): network.LAN, a UART modem answering AT, network.PPP, bytes per link. */
import { createServer } from "node:http";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { closeServer, deviceTracker, listenLoopback } from "../../testing/sim.ts";

const { device, closeAll } = deviceTracker();
afterEach(closeAll);

async function runScript(script: string, options: Parameters<typeof device>[0] = {}) {
  const r = await device(options).run({ boot: false, script, timeoutMs: 20_000 });
  return { ...r, lines: r.output.split("\n").filter(Boolean) };
}

/** Python: send `cmd` to the UART and print what came back, line breaks shown. */
const AT = `
import machine
u = machine.UART(1, baudrate=115200, tx=17, rx=16)
def at(cmd):
    u.write(cmd + "\\r")
    print(repr(u.read()))
`;

describe("virtual modem on a UART", () => {
  it("echoes until ATE0, wants the SIM's PIN, and dials only with it and the right APN", async () => {
    const r = await runScript(
      `${AT}
at("AT")
at("ATE0")
at("AT+CPIN?")
at("ATD*99#")
at('AT+CPIN="0000"')
at('AT+CPIN="1234"')
at('AT+CGDCONT=1,"IP","wrong.apn"')
at("ATD*99#")
at('AT+CGDCONT=1,"IP","iot.example"')
at("AT+NOPE")
at("ATD*99#")
print(machine.UART(2).read())
`,
      { modem: { uart: 1, simPin: "1234", apn: "iot.example" } },
    );
    expect(r.ok, r.output).toBe(true);
    expect(r.lines).toEqual([
      String.raw`b'AT\r\n\r\nOK\r\n'`,
      String.raw`b'ATE0\r\n\r\nOK\r\n'`,
      String.raw`b'\r\n+CPIN: SIM PIN\r\n\r\nOK\r\n'`,
      String.raw`b'\r\n+CME ERROR: SIM PIN required\r\n'`,
      String.raw`b'\r\n+CME ERROR: incorrect password\r\n'`,
      String.raw`b'\r\nOK\r\n'`,
      String.raw`b'\r\nOK\r\n'`,
      String.raw`b'\r\nNO CARRIER\r\n'`,
      String.raw`b'\r\nOK\r\n'`,
      String.raw`b'\r\nERROR\r\n'`,
      String.raw`b'\r\nCONNECT 150000000\r\n'`,
      "None",
    ]);
    expect(r.modemCommands).toEqual([
      "AT",
      "ATE0",
      "AT+CPIN?",
      "ATD*99#",
      'AT+CPIN="0000"',
      'AT+CPIN="1234"',
      'AT+CGDCONT=1,"IP","wrong.apn"',
      "ATD*99#",
      'AT+CGDCONT=1,"IP","iot.example"',
      "AT+NOPE",
      "ATD*99#",
    ]);
  });

  it("a silent modem hears commands but never answers", async () => {
    const r = await runScript(`${AT}\nat("AT")`, { modem: { uart: 1, silent: true } });
    expect(r.lines).toEqual(["None"]);
    expect(r.modemCommands).toEqual(["AT"]);
  });
});

describe("links and the route", () => {
  const server = createServer((_req, res) => res.end("x".repeat(1000)));
  let port = 0;
  beforeAll(async () => {
    port = await listenLoopback(server);
  });
  afterAll(() => closeServer(server));

  /** Python: one GET whose answer is read to the end, or the OSError number. */
  const get = () => `
import socket
def get():
    s = socket.socket()
    try:
        s.connect(("127.0.0.1", ${port}))
        s.write(b"GET / HTTP/1.0\\r\\n\\r\\n")
        return len(s.read())
    except OSError as e:
        return "errno %d" % e.errno
    finally:
        s.close()
`;

  it("PPP connects only once the modem has dialled, and the newest link carries the bytes", async () => {
    const r = await runScript(
      `${AT}${get()}
import network
p = network.PPP(u)
p.active(True)
p.connect()
print("before dialling", p.isconnected())
at("ATD*99#")
p.connect()
print("dialled", p.isconnected(), get())
p.disconnect()
print("hung up", p.isconnected(), get())
`,
      { modem: { uart: 1 } },
    );
    expect(r.ok, r.output).toBe(true);
    expect(r.lines.filter((l) => !l.startsWith("b'"))).toEqual([
      "before dialling False",
      expect.stringMatching(/^dialled True \d+$/),
      expect.stringMatching(/^hung up False \d+$/),
    ]);
    const perGet = Number(r.lines[2]!.split(" ").pop());
    // The first GET went over PPP (newest), the second over the Wi-Fi up since power-on.
    expect(r.linkBytes.ppp).toBeGreaterThan(perGet);
    expect(r.linkBytes.wlan).toBe(r.linkBytes.ppp);
    expect(r.linkBytes.lan).toBe(0);
  });

  it("network.LAN: no port is ENODEV, no cable never connects, a cable connects once active", async () => {
    const script = `${get()}
import network
try:
    lan = network.LAN(mdc=23, mdio=18, phy_type=network.PHY_LAN8720, phy_addr=1)
    lan.active(True)
    print(lan.isconnected(), get())
except OSError as e:
    print("errno", e.errno)
`;
    expect((await runScript(script, { wifi: "fail" })).lines).toEqual(["errno 19"]);
    expect((await runScript(script, { wifi: "fail", lan: "down" })).lines).toEqual(["False errno 113"]);
    const up = await runScript(script, { wifi: "fail", lan: "up" });
    expect(up.lines).toEqual([expect.stringMatching(/^True \d+$/)]);
    expect(up.linkBytes.lan).toBeGreaterThan(1000);
    expect(up.linkBytes.wlan).toBe(0);
  });
});

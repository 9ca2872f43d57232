import { afterEach, describe, expect, it } from "vitest";
import { VirtualDevice } from "./index.ts";

const devices: VirtualDevice[] = [];
function device(...args: ConstructorParameters<typeof VirtualDevice>): VirtualDevice {
  const dev = new VirtualDevice(...args);
  devices.push(dev);
  return dev;
}
afterEach(async () => {
  await Promise.all(devices.splice(0).map((d) => d.close()));
});

describe("VirtualDevice boot", () => {
  it("runs boot.py then main.py and captures their output", async () => {
    const dev = device({ files: { "boot.py": "print('boot')", "main.py": "print('main', 6 * 7)" } });
    const r = await dev.run();
    expect(r).toMatchObject({ ok: true, end: "returned", reboots: 0 });
    expect(r.output.split("\n").filter(Boolean)).toEqual(["boot", "main 42"]);
  });

  it("reboots on machine.reset() and runs main.py again, up to maxReboots", async () => {
    const main = [
      "try:",
      "    n = int(open('count').read())",
      "except OSError:",
      "    n = 0",
      "f = open('count', 'w')",
      "f.write(str(n + 1))",
      "f.close()",
      "import machine",
      "machine.reset()",
    ].join("\n");
    const dev = device({ files: { "main.py": main } });
    const r = await dev.run({ maxReboots: 3 });
    expect(r.end).toBe("reboots");
    expect(r.reboots).toBe(3);
    expect(r.resets.map((x) => x.cause)).toEqual(["reset", "reset", "reset", "reset"]);
    expect(dev.readText("count")).toBe("4");
  });

  it("reports a missing file with errno ENOENT (2)", async () => {
    const dev = device();
    const r = await dev.run({
      boot: false,
      script: "try:\n    open('nope')\nexcept OSError as e:\n    print('errno', e.errno)",
    });
    expect(r.ok).toBe(true);
    expect(r.output.trim()).toBe("errno 2");
  });
});

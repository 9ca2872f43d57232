import { describe, expect, it } from "vitest";
import { runDeviceScript } from "../../testing/board.ts";
import { shippedMpotaPackage } from "./bundle.ts";

describe("shippedMpotaPackage", () => {
  it("ships the modules as .mpy whose tracebacks name the module (no path to intern), sources in py/", async () => {
    const tree = await shippedMpotaPackage("ship/mpota/"); // beside the test device's own lib/mpota/
    expect(tree["ship/mpota/__init__.py"]).toBeDefined();
    expect(tree["ship/mpota/py/version.py"]).toBeDefined();
    const script = `
import json, sys
sys.path.insert(0, "/ship")
from mpota import version
try:
    version.parse(None)
    where = None
except ValueError as e:
    import io
    s = io.StringIO()
    sys.print_exception(e, s)
    where = s.getvalue()
print(json.dumps({"file": version.__file__, "where": where}))
`;
    const files = Object.fromEntries(
      Object.entries(tree).filter(([path]) => path.endsWith(".mpy") || path === "ship/mpota/__init__.py"),
    );
    const { value } = await runDeviceScript(script, files);
    const got = value as { file: string; where: string };
    expect(got.file).toMatch(/ship\/mpota\/version\.mpy$/);
    expect(got.where).toMatch(/File "mpota\.version", line \d+, in parse/);
  });
});

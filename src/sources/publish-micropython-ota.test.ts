import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { generateKeyPair } from "../manifest/index.ts";
import { buildRelease } from "../release/index.ts";
import { openStore } from "../store/index.ts";
import { publishMicropythonOta } from "./publish-micropython-ota.ts";

const temp = (name: string) => mkdtempSync(join(tmpdir(), `mpota-${name}-`));

describe("publishMicropythonOta", () => {
  it("writes every file of a stored release under its tag, and the version file last", async () => {
    const store = openStore(temp("store"));
    const app = temp("app");
    const files = { "main.py": "print(1)\n", "lib/util.py": "U = 1\n" };
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(join(app, path, ".."), { recursive: true });
      writeFileSync(join(app, path), text);
    }
    await buildRelease({ dir: app, project: "greenhouse", version: "1.2.0", key: generateKeyPair(), store });
    const dir = temp("mota");
    const result = publishMicropythonOta({
      store,
      project: "greenhouse",
      version: "1.2.0",
      dir,
      tag: "v1.2.0",
    });
    expect(result.filenames).toEqual(["lib/util.py", "main.py"]);
    expect(result.written.at(-1)).toBe("greenhouse/version");
    expect(readFileSync(join(dir, "greenhouse", "version"), "utf8")).toBe("v1.2.0\n");
    expect(readFileSync(join(dir, "greenhouse", "v1.2.0_lib", "util.py"), "utf8")).toBe(files["lib/util.py"]);
    const plain = publishMicropythonOta({
      store,
      project: "greenhouse",
      version: "1.2.0",
      dir,
      useVersionPrefix: false,
    });
    expect(plain.tag).toBe("1.2.0");
    expect(readFileSync(join(dir, "greenhouse", "1.2.0", "main.py"), "utf8")).toBe(files["main.py"]);
  });
});

/** device/mpota/sha1.py on the virtual device (whose hashlib has no sha1) against git's own blob SHA-1s. */
import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { runDeviceScript } from "../../testing/board.ts";
import { createRepo } from "../../testing/git-hosts/git-repo.ts";

const repo = createRepo();
afterAll(() => repo.close());

describe("sha1.py", () => {
  it("computes git's blob SHA-1 for files of every size around the block edges, fed in uneven pieces", async () => {
    const sizes = [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1000, 4099];
    const files: Record<string, Uint8Array> = {};
    for (const size of sizes) files[`f${size}.bin`] = randomBytes(size);
    const commit = repo.commit(files);
    const want = Object.fromEntries(repo.tree(commit).map((e) => [e.path, e.sha]));
    const script = `
import json, hashlib
from mpota import sha1
from mpota.manifest import hexdigest
out = {"native": hasattr(hashlib, "sha1")}
buf = memoryview(bytearray(37))
for name in ${JSON.stringify(Object.keys(files))}:
    import os
    size = os.stat(name)[6]
    h = sha1.git_blob(size)
    with open(name, "rb") as f:
        while True:
            n = f.readinto(buf)
            if not n:
                break
            h.update(buf[:n])
    out[name] = hexdigest(h)
    out[name + "?"] = hexdigest(h)  # digest() twice gives the same answer
print(json.dumps(out))
`;
    const { value } = await runDeviceScript(script, files);
    const got = value as Record<string, string | boolean>;
    expect(got.native).toBe(false);
    for (const name of Object.keys(files)) {
      expect(got[name], name).toBe(want[name]);
      expect(got[`${name}?`]).toBe(want[name]);
    }
  });
});

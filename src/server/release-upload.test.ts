/**
 * The upload accepts exactly the envelopes a board accepts: every case of release-upload-cases.ts through
 * the server's publish route (SQLite and PostgreSQL) and through device/mpota/envelope.py on a
 * virtual board.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runDeviceScript } from "../../testing/board.ts";
import { testDialects } from "../../testing/db.ts";
import { startTestServer, type TestServer } from "../../testing/server.ts";
import { envelopeBytes, generateKeyPair } from "../manifest/index.ts";
import { CASES_PROJECT, envelopeCases } from "./release-upload-cases.ts";

const key = generateKeyPair();
const cases = envelopeCases(key, generateKeyPair());

/** Every case through envelope.verify on one board that trusts `key`: "ok" or "<code>: <message>". */
async function boardVerdicts(): Promise<string[]> {
  const files = Object.fromEntries(cases.map((c, i) => [`c${i}.json`, envelopeBytes(c.envelope as never)]));
  const script = `
import json
from mpota import envelope
from mpota.errors import UpdateError
out = []
for i in range(${cases.length}):
    try:
        envelope.verify("/c%d.json" % i, ["${key.publicKeyHex}"], "${CASES_PROJECT}")
        out.append("ok")
    except UpdateError as e:
        out.append(e.code + ": " + e.message)
print(json.dumps(out))
`;
  return (await runDeviceScript(script, files)).value as string[];
}

describe("release envelopes: the board's rules", () => {
  it("a board says of each case what the table says", async () => {
    const verdicts = await boardVerdicts();
    for (const [i, c] of cases.entries()) expect([c.name, verdicts[i]]).toEqual([c.name, c.board]);
  });

  it("the table has no envelope a board refuses and the upload accepts", () => {
    for (const c of cases) if (c.upload === "ok") expect([c.name, c.board]).toEqual([c.name, "ok"]);
  });
});

describe.each(testDialects)("release envelopes: the upload's rules (%s)", (dialect) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(dialect);
    const headers = { authorization: `Bearer ${s.adminToken}` };
    await s.app.inject({
      method: "POST",
      url: "/api/v1/projects",
      headers,
      payload: { name: CASES_PROJECT },
    });
    await s.app.inject({
      method: "POST",
      url: `/api/v1/projects/${CASES_PROJECT}/keys`,
      headers,
      payload: { publicKey: key.publicKeyHex },
    });
  });
  afterAll(async () => s?.close());

  it("the upload says of each case what the table says", async () => {
    const verdicts = [];
    for (const c of cases) {
      const res = await s.app.inject({
        method: "POST",
        url: `/api/v1/projects/${CASES_PROJECT}/releases/plan`,
        headers: { authorization: `Bearer ${s.adminToken}` },
        payload: c.envelope as object,
      });
      verdicts.push([c.name, res.statusCode, res.statusCode === 200 ? "ok" : res.json().error]);
    }
    expect(verdicts).toEqual(cases.map((c) => [c.name, c.upload === "ok" ? 200 : 400, c.upload]));
  });
});

import { describe, expect, it } from "vitest";
import { benchmarks } from "./index.ts";

describe("benchmark registry", () => {
  it("has the virtual device benchmark", () => {
    expect(benchmarks.sim?.describe).toMatch(/virtual device/);
  });

  // A registered benchmark whose module is missing or exports nothing fails `mpota bench` only when
  // someone runs it; loading each one here catches that in CI without running it.
  for (const [name, entry] of Object.entries(benchmarks)) {
    it(`${name}: loads to a benchmark function`, async () => {
      expect(entry.describe.length).toBeGreaterThan(10);
      expect(typeof (await entry.load())).toBe("function");
    });
  }
});

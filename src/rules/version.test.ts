import { describe, expect, it } from "vitest";
import { compareVersions, isVersion, parseVersion } from "./version.ts";

describe("versions", () => {
  it("orders versions as semver 2.0 says (the spec's own example list)", () => {
    const ordered = [
      "0.9.9",
      "1.0.0-alpha",
      "1.0.0-alpha.1",
      "1.0.0-alpha.beta",
      "1.0.0-beta",
      "1.0.0-beta.2",
      "1.0.0-beta.11",
      "1.0.0-rc.1",
      "1.0.0",
      "1.0.1",
      "1.2.0",
      "1.10.0",
      "2.0.0",
      "10.0.0",
    ];
    for (let i = 0; i < ordered.length; i++) {
      for (let j = 0; j < ordered.length; j++) {
        expect(compareVersions(ordered[i]!, ordered[j]!), `${ordered[i]} vs ${ordered[j]}`).toBe(
          Math.sign(i - j),
        );
      }
    }
  });

  it("ignores build metadata for ordering", () => {
    expect(compareVersions("1.0.0+build.1", "1.0.0+build.2")).toBe(0);
    expect(compareVersions("1.0.0-rc.1+x", "1.0.0")).toBe(-1);
  });

  it("compares long numeric identifiers by value", () => {
    expect(compareVersions("1.0.0-rc.99999999999999999999", "1.0.0-rc.100000000000000000000")).toBe(-1);
  });

  it("parses the parts", () => {
    expect(parseVersion("1.22.3-rc.1+sha.abc")).toEqual({
      major: 1,
      minor: 22,
      patch: 3,
      prerelease: ["rc", "1"],
      build: ["sha", "abc"],
    });
  });

  it("refuses what is not semver, saying why and naming the field", () => {
    const bad: Array<[string, string]> = [
      ["1.2", "must be MAJOR.MINOR.PATCH"],
      ["01.2.3", "must be MAJOR.MINOR.PATCH"],
      ["v1.2.3", "must be MAJOR.MINOR.PATCH"],
      ["", "must be MAJOR.MINOR.PATCH"],
      ["1.2.3-", "has a bad prerelease"],
      ["1.2.3-rc..1", "has a bad prerelease"],
      ["1.2.3-01", "has a bad prerelease"],
      ["1.2.3+", "has bad build metadata"],
      ["1.2.3+a+b", 'has more than one "+"'],
      ["99999999999999999999.0.0", "has a number longer than 15 digits"],
      [`1.0.0-${"a".repeat(300)}`, "is longer than 256 characters"],
    ];
    for (const [v, why] of bad) {
      expect(isVersion(v), v).toBe(false);
      expect(() => parseVersion(v, "signed.version"), v).toThrow(
        `signed.version: ${JSON.stringify(v)} ${why}`,
      );
    }
    expect(isVersion(3)).toBe(false);
    expect(() => parseVersion(3 as unknown as string)).toThrow("version: 3 must be a string");
  });
});

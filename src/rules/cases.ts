/**
 * One table per rule, run by rules.test.ts through the host's rule (src/rules), the typebox schemas
 * built from it (server routes, ota_config.json) and the device's (device/mpota): every entry must get
 * the same verdict from each.
 */
import { MAX_FILE_SIZE, MAX_PATH_BYTES, MAX_VERSION_LENGTH, zlibBound } from "./limits.ts";

/** Project and channel names, and whether each is one. */
export const NAME_CASES: Array<[unknown, boolean]> = [
  ["greenhouse", true],
  ["a", true],
  ["0", true],
  ["9lives", true],
  ["a.b_c-d", true],
  ["a".repeat(64), true],
  ["", false],
  ["a".repeat(65), false],
  ["Greenhouse", false],
  ["-a", false],
  [".a", false],
  ["_a", false],
  ["a b", false],
  ["a/b", false],
  ["é", false],
  ["a\n", false],
  [3, false],
  [null, false],
];

/** SHA-256 digests and Ed25519 public keys in hex, and whether each is one. */
export const HEX64_CASES: Array<[unknown, boolean]> = [
  ["0".repeat(64), true],
  ["0123456789abcdef".repeat(4), true],
  ["f".repeat(64), true],
  ["0".repeat(63), false],
  ["0".repeat(65), false],
  ["A".repeat(64), false],
  [`${"0".repeat(63)}g`, false],
  [`${"0".repeat(63)}\n`, false],
  [`${"0".repeat(64)}\n`, false],
  ["", false],
  [64, false],
  [null, false],
];

const long = (n: number) => `1.0.0-${"a".repeat(n - 6)}`;

/** Versions, and the host's reason when one is not a version. */
export const VERSION_CASES: Array<[unknown, string | undefined]> = [
  ["0.0.0", undefined],
  ["1.2.3", undefined],
  ["1.2.3-rc.1", undefined],
  ["1.2.3-rc.1+build.5", undefined],
  ["1.0.0-alpha-1", undefined],
  ["1.0.0-0", undefined],
  ["1.0.0-x.7.z.92", undefined],
  ["1.0.0+20130313144700", undefined],
  ["1.0.0-rc.99999999999999999999", undefined],
  ["999999999999999.0.0", undefined],
  [long(MAX_VERSION_LENGTH), undefined],
  ["1.2", "must be MAJOR.MINOR.PATCH"],
  ["1.2.3.4", "must be MAJOR.MINOR.PATCH"],
  ["01.2.3", "must be MAJOR.MINOR.PATCH"],
  ["v1.2.3", "must be MAJOR.MINOR.PATCH"],
  ["1.-2.3", "must be MAJOR.MINOR.PATCH"],
  [" 1.2.3", "must be MAJOR.MINOR.PATCH"],
  ["1.2.3\n", "must be MAJOR.MINOR.PATCH"],
  ["1.2.3 ", "must be MAJOR.MINOR.PATCH"],
  ["", "must be MAJOR.MINOR.PATCH"],
  ["1.2.3-", "has a bad prerelease"],
  ["1.2.3-rc..1", "has a bad prerelease"],
  ["1.2.3-01", "has a bad prerelease"],
  ["1.2.3-a_b", "has a bad prerelease"],
  ["1.2.3-é", "has a bad prerelease"],
  ["1.2.3+", "has bad build metadata"],
  ["1.2.3+a+b", 'has more than one "+"'],
  ["1000000000000000.0.0", "has a number longer than 15 digits"],
  ["99999999999999999999.0.0", "has a number longer than 15 digits"],
  [long(MAX_VERSION_LENGTH + 1), `is longer than ${MAX_VERSION_LENGTH} characters`],
  [long(306), `is longer than ${MAX_VERSION_LENGTH} characters`],
  [3, "must be a string"],
  [null, "must be a string"],
];

/** Versions oldest first (semver 2.0's own example list, and build metadata that does not count). */
export const VERSION_ORDER: string[][] = [
  ["0.9.9"],
  ["1.0.0-alpha"],
  ["1.0.0-alpha.1"],
  ["1.0.0-alpha.beta"],
  ["1.0.0-beta"],
  ["1.0.0-beta.2"],
  ["1.0.0-beta.11"],
  ["1.0.0-rc.1", "1.0.0-rc.1+build.2"],
  ["1.0.0", "1.0.0+build.1"],
  ["1.0.1"],
  ["1.2.0"],
  ["1.10.0"],
  ["2.0.0"],
  ["10.0.0"],
  ["999999999999999.0.0"],
];

/** Release paths, and the host's reason when one is not a release path. */
export const PATH_CASES: Array<[string, string | undefined]> = [
  ["main.py", undefined],
  ["lib/util.py", undefined],
  [".hidden/..a/a..", undefined],
  ["a b/~*?.py", undefined],
  ["a".repeat(MAX_PATH_BYTES), undefined],
  ["é".repeat(MAX_PATH_BYTES >> 1), undefined],
  ["", "is empty"],
  ["/main.py", "is absolute"],
  ["lib\\x.py", "contains a backslash"],
  ["a\0b", "contains a NUL character"],
  ["a\x01b", "contains a control character"],
  ["a\tb", "contains a control character"],
  ["a\x7fb", "contains a control character"],
  ["../x", 'contains ".."'],
  ["a/../b", 'contains ".."'],
  ["./a", 'contains a "." segment'],
  ["a/./b", 'contains a "." segment'],
  ["a//b", "has an empty segment"],
  ["lib/", "has an empty segment"],
  ["a".repeat(MAX_PATH_BYTES + 1), `is longer than ${MAX_PATH_BYTES} bytes`],
  ["é".repeat((MAX_PATH_BYTES >> 1) + 1), `is longer than ${MAX_PATH_BYTES} bytes`],
];

/** Glob patterns of file selection, a release path, and whether the pattern selects it. */
export const GLOB_CASES: Array<[string, string, boolean]> = [
  ["main.py", "main.py", true],
  ["main.py", "main.pyc", false],
  ["*.py", "main.py", true],
  ["*.py", "lib/x.py", false],
  ["**/*.py", "lib/x.py", true],
  ["**/*.py", "main.py", true],
  ["**/*.py", "lib/a/b/x.py", true],
  ["config.py", "lib/config.py", false],
  ["**/config.py", "lib/config.py", true],
  ["lib", "lib", true],
  ["lib", "lib/x.py", true],
  ["lib/", "lib/a/b.py", true],
  ["lib", "libx/a.py", false],
  ["lib", "app/lib/a.py", false],
  ["tests/**", "tests/a/b.py", true],
  ["tests/**", "tests", true],
  ["lib/*/x.py", "lib/a/x.py", true],
  ["lib/*/x.py", "lib/a/b/x.py", false],
  ["lib/**/x.py", "lib/x.py", true],
  ["lib/**/x.py", "lib/a/b/x.py", true],
  ["?.py", "a.py", true],
  ["?.py", "ab.py", false],
  ["?.py", "é.py", true],
  ["a*b", "ab", true],
  ["a*b", "a/b", false],
  ["*", "anything/below.py", true],
  ["*_test.py", "lib/a_test.py", false],
];

/** File sizes at and around the limit, and whether a manifest entry may have that size. */
export const FILE_SIZE_CASES: Array<[number, boolean]> = [
  [0, true],
  [MAX_FILE_SIZE, true],
  [MAX_FILE_SIZE + 1, false],
];

/** Sizes whose largest accepted zlib stream both sides compute. */
export const ZLIB_BOUND_SIZES = [0, 1, 255, 256, 1000, 1 << 20, MAX_FILE_SIZE].map((size) => [
  size,
  zlibBound(size),
]);

/**
 * Damaged copy-hex deltas (src/delta/copy-hex.ts) and what both appliers say of them: this one and the
 * board's (device/mpota/patch.py), which src/device-tests/patch.test.ts runs through the same table.
 * Each delta is applied to `old` for a result of `size` bytes; `error` is in both messages.
 */
const W = (n: number) => n * 4 + 1; // a write of n bytes
const COPY = (n: number) => n * 4;
const HEX = (n: number) => n * 4 + 2;
const SEEK_BACK_ONE = 1 * 4 + 3; // zigzag 1 = -1

export const COPY_HEX_CASES: { name: string; old: string; delta: number[]; size: number; error: string }[] = [
  { name: "another size", old: "abc", delta: [5], size: 3, error: "it makes a file of another size" },
  {
    name: "more bytes than the size",
    old: "abc",
    delta: [3, W(4), 97, 98, 99, 100],
    size: 3,
    error: "it makes a file larger than 3 bytes",
  },
  {
    name: "a copy past the old file",
    old: "ab",
    delta: [3, COPY(3)],
    size: 3,
    error: "it copies past the end of the old file",
  },
  {
    name: "a write cut short",
    old: "",
    delta: [3, W(3), 97],
    size: 3,
    error: "the delta ends inside an insert",
  },
  {
    name: "hex cut short",
    old: "",
    delta: [4, HEX(2), 171],
    size: 4,
    error: "the delta ends inside an insert",
  },
  {
    name: "a move before the start",
    old: "a",
    delta: [1, SEEK_BACK_ONE],
    size: 1,
    error: "it seeks before the start of the old file",
  },
  {
    name: "bytes after the end",
    old: "a",
    delta: [1, COPY(1), 0],
    size: 1,
    error: "bytes follow the end of the delta",
  },
  { name: "no commands", old: "ab", delta: [2], size: 2, error: "the delta ends early" },
  {
    name: "an endless number",
    old: "",
    delta: [128, 128, 128, 128, 1],
    size: 1,
    error: "a number is too long",
  },
];

import { describe, expect, it } from "vitest";
import { wholeNumber } from "./options.ts";

describe("wholeNumber", () => {
  it("takes whole numbers within the bounds", () => {
    expect(wholeNumber("--port", 65535)("0")).toBe(0);
    expect(wholeNumber("--port", 65535)("65535")).toBe(65535);
    expect(wholeNumber("--n", undefined, 1)("123456789")).toBe(123456789);
  });

  it("refuses anything else, naming the option and its bounds", () => {
    expect(() => wholeNumber("--port", 65535)("65536")).toThrow("--port must be a whole number 0…65535");
    expect(() => wholeNumber("--port", 65535)("8.5")).toThrow("--port must be a whole number 0…65535");
    expect(() => wholeNumber("--n", undefined, 1)("0")).toThrow("--n must be a whole number ≥ 1");
    expect(() => wholeNumber("--n")("two")).toThrow("--n must be a whole number ≥ 0");
    expect(() => wholeNumber("--n")("-1")).toThrow("--n must be a whole number ≥ 0");
  });
});

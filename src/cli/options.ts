/** Option parsers the commands share: a bad value is a one-line error naming the option. */
import { InvalidArgumentError } from "commander";

/** Parses a whole-number option value in min…max (no upper bound without `max`). */
export function wholeNumber(name: string, max?: number, min = 0) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || (max !== undefined && n > max))
      throw new InvalidArgumentError(
        `${name} must be a whole number ${max === undefined ? `≥ ${min}` : `${min}…${max}`}`,
      );
    return n;
  };
}

/**
 * The power-cut matrix on the virtual device: an update, a confirm, a rollback and the loader's own
 * recovery, with the power cut at every mutating flash operation in both durability models.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CutScenario,
  cutMatrix,
  type DurabilityModel,
  standardScenarios,
} from "../../testing/powercut.ts";
import { scaled } from "../../testing/sim.ts";

let scenarios: CutScenario[] = [];
let close = async () => {};
const counted: number[] = [];

beforeAll(async () => {
  ({ scenarios, close } = await standardScenarios());
});

afterAll(async () => {
  await close();
  // Every scenario and model ran, and together they cover the number of cut points the matrix promises.
  expect(counted).toHaveLength(12);
  expect(counted.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(200);
});

const NAMES = [
  "update",
  "second update",
  "confirm",
  "rollback",
  "recovery after a crash",
  "recovery after max_boots",
];
const MODELS: DurabilityModel[] = ["torn", "commit-on-close"];

describe("power cut at every flash operation", () => {
  for (const name of NAMES)
    for (const model of MODELS)
      it(`${name} (${model}): the board runs exactly the old or the new release`, {
        timeout: scaled(240_000),
      }, async () => {
        const scenario = scenarios.find((s) => s.name === name)!;
        const { cutPoints, failures } = await cutMatrix(scenario, model, { concurrency: 2 });
        expect(failures).toEqual([]);
        expect(cutPoints).toBeGreaterThan(4);
        counted.push(cutPoints);
      });
});

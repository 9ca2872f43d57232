/**
 * `mpota bench powercut`: the power-cut matrix of testing/powercut.ts (update, confirm, rollback,
 * boot-time recovery, plus an update of a whole app with mpota inside the release; power cut at every
 * mutating flash operation; both durability models).
 * Target: failures 0 with at least 200 cut points.
 */
import type { Benchmark } from "./index.ts";

const run: Benchmark = async ({ progress }) => {
  const { cutMatrix, standardScenarios } = await import("../testing/powercut.ts");
  const models = ["torn", "commit-on-close"] as const;
  const started = Date.now();
  const { scenarios, close } = await standardScenarios({ wholeApp: true });
  const byScenario: Record<string, number> = {};
  const failures: Array<{ scenario: string; model: string; cutAt: number; why: string }> = [];
  let cutPoints = 0;
  try {
    for (const scenario of scenarios) {
      for (const model of models) {
        const result = await cutMatrix(scenario, model, { concurrency: 2 });
        cutPoints += result.cutPoints;
        byScenario[`${scenario.name} (${model})`] = result.cutPoints;
        failures.push(...result.failures);
        progress(
          `${scenario.name} (${model}): ${result.cutPoints} cut points, ${result.failures.length} failures`,
        );
      }
    }
  } finally {
    await close();
  }
  return {
    cutPoints,
    failures: failures.length,
    models: [...models],
    scenarios: byScenario,
    failureDetails: failures.slice(0, 20),
    seconds: Math.round((Date.now() - started) / 100) / 10,
  };
};

export default run;

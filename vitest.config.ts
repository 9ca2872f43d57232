import { defineConfig } from "vitest/config";
import { busyFactor } from "./testing/sim.ts";

// Time limits are scaled by how busy the machine is (testing/sim.ts), so the suite passes on a
// busy machine without limits raised blindly for everyone.
const busy = Number(process.env.MPOTA_TEST_BUSY) || busyFactor();
if (busy > 1.5) console.error(`busy machine: test time limits ×${busy}`);

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "testing/**/*.test.ts", "bench/**/*.test.ts", "web/**/*.test.ts"],
    pool: "forks",
    testTimeout: Math.round(60_000 * busy),
    hookTimeout: Math.round(120_000 * busy),
    // 2-core machines: device tests start worker threads of their own.
    maxWorkers: 2,
    // runCli (testing/cli.ts) scales the time limit of its child processes the same way.
    env: { MPOTA_TEST_BUSY: String(busy) },
  },
});

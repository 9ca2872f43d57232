import { createHash } from "node:crypto";
import { defineConfig } from "vitest/config";

/**
 * How busy the machine is now: wall time over CPU time of a short hashing loop (1 on an idle
 * machine, ~3 when other work takes two thirds of the cores). Time limits are scaled by it, so the
 * suite passes on a busy machine without limits raised blindly for everyone. At most 10.
 */
function busyFactor(): number {
  const data = Buffer.alloc(1 << 20);
  const wall = performance.now();
  const cpu = process.cpuUsage();
  let cpuMs = 0;
  while (cpuMs < 100) {
    createHash("sha256").update(data).digest();
    const used = process.cpuUsage(cpu);
    cpuMs = (used.user + used.system) / 1000;
  }
  return Math.min(10, Math.max(1, Math.round(((performance.now() - wall) / cpuMs) * 10) / 10));
}

const busy = Number(process.env.MPOTA_TEST_BUSY) || busyFactor();
if (busy > 1.5) console.error(`busy machine: test time limits ×${busy}`);

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "bench/**/*.test.ts", "web/**/*.test.ts"],
    pool: "forks",
    testTimeout: 60_000 * busy,
    hookTimeout: 120_000 * busy,
    // 2-core machines: device tests start worker threads of their own.
    maxWorkers: 2,
    // runCli (src/cli/testing.ts) scales the time limit of its child processes the same way.
    env: { MPOTA_TEST_BUSY: String(busy) },
  },
});

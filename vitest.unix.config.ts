import { defineConfig } from "vitest/config";

/** `npm run test:unix -- --micropython PATH`: the device stories on a real MicroPython (unix port). */
export default defineConfig({
  test: {
    include: ["src/**/*.stories.ts"],
    pool: "forks",
    testTimeout: 120_000,
    hookTimeout: 120_000,
    maxWorkers: 2,
  },
});

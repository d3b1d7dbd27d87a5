import { defineConfig } from "vitest/config";
import path from "node:path";

export default defineConfig({
  resolve: { alias: { "@": path.resolve(import.meta.dirname, ".") } },
  test: {
    environment: "node",
    globalSetup: ["tests/global-setup.ts"],
    include: ["tests/unit/**/*.test.ts", "tests/integration/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // Integration suites start servers and brokers on their own ports; files run in parallel
    // processes, so each picks free ports and its own data directory.
    fileParallelism: true,
    maxWorkers: 2,
  },
});

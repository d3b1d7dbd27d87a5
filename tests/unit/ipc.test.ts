// lib/ipc.ts in one process (CERTFLEET_WORKERS=1, tests, the CLI): what a worker would ask its
// primary is answered by this process's own handlers, so callers need not know the mode. Across
// real workers the same calls are held by tests/integration/cluster.test.ts.
import { describe, expect, it } from "vitest";
import { answerWorkers, askPrimary, castToWorkers, inClusterWorker, onPrimaryCast } from "@/lib/ipc";
import { clusterMetrics } from "@/lib/server/metrics-bridge";
import { sharedThrottle } from "@/lib/auth/rate-limit";

describe("ipc in a single process", () => {
  it("answers a question with the handler registered here, and says when there is none", async () => {
    expect(inClusterWorker()).toBe(false);
    await expect(askPrimary("test:nobody")).rejects.toThrow(/nobody answers "test:nobody"/);
    answerWorkers("test:double", (n) => Number(n) * 2);
    expect(await askPrimary<number>("test:double", 21)).toBe(42);
    answerWorkers("test:async", async (s) => `${s}!`);
    expect(await askPrimary<string>("test:async", "hi")).toBe("hi!");
  });

  it("delivers a cast to this process's listeners until they stop listening", () => {
    const heard: unknown[] = [];
    const stop = onPrimaryCast("test:cast", (p) => heard.push(p));
    castToWorkers("test:cast", { n: 1 });
    stop();
    castToWorkers("test:cast", { n: 2 });
    expect(heard).toEqual([{ n: 1 }]);
  });

  it("has no cluster metrics to aggregate", async () => {
    expect(await clusterMetrics()).toBeNull();
  });

  it("throttles through the same shared interface: five failures, then a wait", async () => {
    const throttle = sharedThrottle("login");
    const ip = "192.0.2.77";
    for (let i = 0; i < 5; i++) {
      expect(await throttle.tryBegin("ipc@test.local", ip)).toBe(0);
      await throttle.fail("ipc@test.local", ip);
    }
    expect(await throttle.tryBegin("ipc@test.local", ip)).toBeGreaterThan(0);
    // Another throttle (EST secrets) keeps its own counts.
    expect(await sharedThrottle("est-secret").tryBegin("ipc@test.local", ip)).toBe(0);
  });
});

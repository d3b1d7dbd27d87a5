// Preload (NODE_OPTIONS=--import …/bench/cpu-profile.mjs, CPU_PROFILE_DIR=dir): a V8 CPU profile of
// the main thread, written when the process exits — for servers that `--cpu-prof` cannot reach
// (Node refuses it in NODE_OPTIONS). Used by `npx tsx bench/est-storm.ts --cpu-prof DIR`.
import { Session } from "node:inspector";
import { writeFileSync } from "node:fs";
import path from "node:path";
import process from "node:process";
import { isMainThread } from "node:worker_threads";

const dir = process.env.CPU_PROFILE_DIR;
if (isMainThread && dir) {
  const session = new Session();
  session.connect();
  session.post("Profiler.enable");
  session.post("Profiler.setSamplingInterval", { interval: 500 });
  session.post("Profiler.start");
  process.on("exit", () => {
    // The in-process inspector answers synchronously, so this still runs inside 'exit'.
    session.post("Profiler.stop", (err, result) => {
      if (!err) writeFileSync(path.join(dir, `server-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}

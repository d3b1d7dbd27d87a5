// The HTTP tests run the production server: build once when no build exists (CI builds first).
import { existsSync } from "node:fs";
import { spawnSync } from "node:child_process";

export default function setup() {
  if (existsSync(".next/BUILD_ID")) return;
  const result = spawnSync(process.execPath, ["node_modules/next/dist/bin/next", "build"], { stdio: "inherit", env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" } });
  if (result.status !== 0) throw new Error("next build failed");
}

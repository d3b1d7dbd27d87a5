// Runs the real OpenSSL CLI against files in a throwaway directory: the independent checker
// for everything lib/pki produces.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

export const OPENSSL = "/usr/bin/openssl";

export interface OpensslResult {
  status: number;
  stdout: string;
  stderr: string;
}

export class Workdir {
  readonly dir = mkdtempSync(path.join(tmpdir(), "certfleet-pki-"));

  file(name: string, content: string | Uint8Array): string {
    const full = path.join(this.dir, name);
    writeFileSync(full, content);
    return full;
  }

  path(name: string): string {
    return path.join(this.dir, name);
  }

  read(name: string): Buffer {
    return readFileSync(path.join(this.dir, name));
  }

  /** Runs openssl; never throws, so tests can assert on failures too. */
  run(args: string[], input?: string | Uint8Array): OpensslResult {
    const r = spawnSync(OPENSSL, args, { cwd: this.dir, input, encoding: "buffer", timeout: 30_000 });
    return { status: r.status ?? -1, stdout: r.stdout?.toString() ?? "", stderr: r.stderr?.toString() ?? "" };
  }

  /** Runs openssl and returns stdout, failing loudly with stderr when it exits non-zero. */
  ok(args: string[], input?: string | Uint8Array): string {
    const r = this.run(args, input);
    if (r.status !== 0) throw new Error(`openssl ${args.join(" ")} failed (${r.status}):\n${r.stderr}${r.stdout}`);
    return r.stdout;
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function opensslVersion(): string {
  return execFileSync(OPENSSL, ["version"]).toString().trim();
}

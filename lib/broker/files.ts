// The files broker-sync maintains in its output directory, and the one way they are written.
import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import path from "node:path";

/**
 * Output file names inside --out DIR. They are part of the contract with broker configs
 * (broker-config prints them) and with operators' own configs: never rename them.
 */
export const OUTPUT_FILES = {
  /** Every CA certificate (issuing CAs, then roots), PEM: mosquitto `cafile`, EMQX `cacertfile`. */
  chain: "ca-chain.pem",
  /** The current CRL of every issuing CA, concatenated PEM ("X509 CRL"): mosquitto `crlfile`. */
  crl: "crl.pem",
  /** PSK file in the broker's format: mosquitto `psk_file`, EMQX `psk_authentication.init_file`. */
  psk: "psk.txt",
  /**
   * RabbitMQ (--format rabbitmq): the CRLs as an `openssl rehash` directory, one PEM CRL per file
   * named `<issuer subject hash>.r<n>` (OTP's ssl_crl_hash_dir). A replaced file is read at the
   * next handshake; no reload needed.
   */
  crlHashDir: "crl-hash",
  /** ETags, URLs and the CRL numbers last installed (rollback protection). */
  state: ".certfleet-sync.json",
} as const;

export type OutputFile = (typeof OUTPUT_FILES)[Exclude<keyof typeof OUTPUT_FILES, "state">];

export async function readFileIfExists(file: string): Promise<Buffer | undefined> {
  try {
    return await fs.readFile(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
}

/**
 * Replaces `file` so that a reader (a broker reloading on SIGHUP, a crash, a power cut) sees
 * either the old bytes or the new bytes, never a mix: temp file in the same directory (rename is
 * only atomic within a file system), fsync, rename, fsync the directory.
 *
 * An existing file's mode and owner are kept: the broker usually drops root and reads its files
 * as its own user, so a psk.txt recreated root-only would make the next reload fail.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array, defaultMode: number): Promise<void> {
  const dir = path.dirname(file);
  const previous = await fs.stat(file).catch(() => undefined);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  const handle = await fs.open(tmp, "wx", previous ? previous.mode & 0o777 : defaultMode);
  try {
    await handle.writeFile(data);
    if (previous) {
      // open() applies the umask; chmod sets the exact mode back.
      await handle.chmod(previous.mode & 0o777);
      if (process.getuid?.() === 0) await handle.chown(previous.uid, previous.gid);
    } else {
      await handle.chmod(defaultMode);
    }
    await handle.sync();
  } catch (e) {
    await handle.close().catch(() => undefined);
    await fs.rm(tmp, { force: true });
    throw e;
  }
  await handle.close();
  try {
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
  await syncDirectory(dir);
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await fs.open(dir, "r");
  try {
    await handle.sync();
  } catch (e) {
    // Some file systems (and platforms) refuse fsync on a directory; the rename already happened.
    if (!["EINVAL", "EISDIR", "EPERM", "ENOTSUP"].includes((e as NodeJS.ErrnoException).code ?? "")) throw e;
  } finally {
    await handle.close();
  }
}

// broker-sync: keeps a broker's CA chain, CRLs and PSK file in step with CertFleet. One run =
// conditional downloads, verification, atomic installs, at most one broker reload.
import { mkdir, readFile, readdir, rm } from "node:fs/promises";
import path from "node:path";
import tls from "node:tls";
import { systemClock, type Clock } from "../pki/clock";
import type { CrlInfo } from "../pki/crl-reader";
import { CLOCK_SKEW_MS } from "../pki/validity";
import { toPem } from "../pki/pem";
import { opensslNameHash } from "../pki/name-hash";
import { OUTPUT_FILES, readFileIfExists, writeFileAtomic, type OutputFile } from "./files";
import { displayUrl, fetchConditional, FetchError, type FetchResult } from "./http";
import { reloadBroker, type ReloadSpec } from "./reload";
import {
  RefusedError,
  chainRoots,
  checkRootsAnchored,
  identifyCrls,
  parseCaChain,
  readTrustAnchors,
  validatePskFile,
  verifyCrlSet,
  type CaChain,
  type PskFormat,
  type TrustAnchor,
  type VerifiedCrl,
} from "./verify";

/** Broker the files are for: the PSK file's format, or rabbitmq (no PSK file; a CRL hash directory). */
export type SyncFormat = PskFormat | "rabbitmq";

export type PskMode =
  /** Fetch it when a token is given; a 404 (no PSKs on the server yet) skips it — unless psk.txt is already installed. */
  | "auto"
  /** The PSK listener depends on it: a missing token or a 404 is an error. */
  | "require"
  /** Never fetch or touch psk.txt. */
  | "off";

export interface SyncOptions {
  /** Base URL of CertFleet (CERTFLEET_PUBLIC_URL), e.g. "https://pki.example.com". */
  url: string;
  /** Bearer token of a broker-role API token; only the PSK file needs it. */
  token?: string;
  /**
   * PEM file with CertFleet's root: trusted for the server's TLS certificate and as the anchor the
   * downloaded chain's root must match. After the first install, the installed chain's root is an
   * anchor too.
   */
  caFile?: string;
  /** Install a chain whose root is not an anchor (after a deliberate root change). */
  acceptNewRoot?: boolean;
  /** Allow an http:// URL: the token and the files then travel unprotected. */
  allowHttp?: boolean;
  /** Output directory (created when missing). */
  outDir: string;
  /** Broker the files are for (the PSK file's format; rabbitmq: no PSK file, plus a CRL hash directory). */
  format: SyncFormat;
  psk?: PskMode;
  /** How to make the broker pick up changed files; without it files are installed and a warning says so. */
  reload?: ReloadSpec;
  clock?: Clock;
  /** Clock difference tolerated for a CRL's thisUpdate (default 5 min, like certificate backdating). */
  maxClockSkewMs?: number;
  timeoutMs?: number;
  /** Progress lines (the CLI prints them on stderr). Never given a secret. */
  log?: (line: string) => void;
  /**
   * The broker's auth-backend URL (with its secret, as shown when the broker was registered): after
   * a successful run, GET <url>/synced so the broker's health in CertFleet shows the sync. Best effort.
   */
  reportUrl?: string;
  /** Injected for tests; waits for a CRL whose thisUpdate is a few seconds ahead of this clock. */
  sleep?: (ms: number) => Promise<void>;
}

export interface SyncResult {
  /** Output files (names in OUTPUT_FILES) replaced by this run. */
  changed: OutputFile[];
  /** Output files left as they were: not modified on the server, identical, or not served. */
  skipped: OutputFile[];
  /** Set when the broker was reloaded: what was done (e.g. "sent SIGHUP to pid 123"). */
  reloaded?: string;
  warnings: string[];
}

/** Something was refused or failed; the files concerned are unchanged (others may have been installed). */
export class BrokerSyncError extends Error {
  constructor(
    readonly failures: string[],
    readonly result: SyncResult,
  ) {
    super(failures.join("; "));
    this.name = "BrokerSyncError";
  }
}

type Resource = "chain" | "crls" | "psk";

interface SyncState {
  version: 1;
  /** ETag per resource, valid only for the URL it was obtained from. */
  etags: Partial<Record<Resource, { url: string; etag: string }>>;
  /**
   * Highest CRL number installed per issuer (key: see CaCertificate.issuerKey), decimal. RFC 5280
   * CRL numbers only grow; a lower one is a replayed or rolled-back CRL that could un-revoke.
   */
  crlNumbers: Record<string, { number: string; issuer: string }>;
  /** A reload failed after files were installed: retry it on the next run. */
  pendingReload?: boolean;
  lastSuccess?: string;
}

function emptyState(): SyncState {
  return { version: 1, etags: {}, crlNumbers: {} };
}

async function loadState(file: string, warnings: string[]): Promise<SyncState> {
  const raw = await readFileIfExists(file);
  if (!raw) return emptyState();
  try {
    const parsed = JSON.parse(raw.toString("utf8")) as Partial<SyncState>;
    if (parsed.version !== 1 || typeof parsed.etags !== "object" || typeof parsed.crlNumbers !== "object") throw new Error("unknown layout");
    return { version: 1, etags: parsed.etags ?? {}, crlNumbers: parsed.crlNumbers ?? {}, pendingReload: parsed.pendingReload === true || undefined, lastSuccess: parsed.lastSuccess };
  } catch {
    // Losing ETags only costs a download; CRL numbers are also recovered from the installed crl.pem.
    warnings.push(`${OUTPUT_FILES.state} is unreadable; starting from the installed files`);
    return emptyState();
  }
}

export function resourceUrls(base: string, format: SyncFormat, allowHttp = false): Record<Resource, URL> {
  let root: URL;
  try {
    root = new URL(base.endsWith("/") ? base : `${base}/`);
  } catch {
    throw new Error(`--url "${base}" is not an absolute URL`);
  }
  if (root.protocol !== "http:" && root.protocol !== "https:") throw new Error(`--url must be http or https, got ${root.protocol}`);
  if (root.protocol === "http:" && !allowHttp) {
    throw new Error(
      "--url is http://: the broker token would travel in clear and anyone on the path could hand the broker a CA chain and CRLs. " +
        "Use CertFleet's https:// URL with --ca-file, or pass --allow-http for a URL that never leaves the host",
    );
  }
  if (root.search || root.hash) throw new Error("--url must be the base URL of CertFleet, without query or fragment");
  if (root.username || root.password) throw new Error("--url must not carry credentials; use --token");
  return {
    chain: new URL("pki/chain.pem", root),
    crls: new URL("pki/crls.pem", root),
    psk: new URL(`api/v1/broker/psk-file?format=${format === "rabbitmq" ? "mosquitto" : format}`, root),
  };
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export async function syncOnce(options: SyncOptions): Promise<SyncResult> {
  const clock = options.clock ?? systemClock;
  const log = options.log ?? (() => undefined);
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const urls = resourceUrls(options.url, options.format, options.allowHttp);
  const out = options.outDir;
  const file = (name: string) => path.join(out, name);
  await mkdir(out, { recursive: true, mode: 0o755 });
  const caFileText = options.caFile
    ? (
        await readFile(options.caFile).catch((e: NodeJS.ErrnoException) => {
          throw new Error(`--ca-file ${options.caFile}: ${e.code ?? e.message}`);
        })
      ).toString("latin1")
    : undefined;
  const caFileAnchors = caFileText === undefined ? [] : readTrustAnchors(caFileText, `--ca-file ${options.caFile}`);

  const result: SyncResult = { changed: [], skipped: [], warnings: [] };
  const failures: string[] = [];
  const state = await loadState(file(OUTPUT_FILES.state), result.warnings);
  let stateDirty = false;

  const installed = {
    chain: await readFileIfExists(file(OUTPUT_FILES.chain)),
    crls: await readFileIfExists(file(OUTPUT_FILES.crl)),
    psk: await readFileIfExists(file(OUTPUT_FILES.psk)),
  };
  const installedRoots = await readInstalledRoots(installed.chain, clock.now());
  // TLS trusts CertFleet's root: --ca-file (replacing the system store, like curl --cacert) or
  // the installed chain's root beside the system store (a public certificate in front also works).
  const ca = caFileText !== undefined || installedRoots.pem ? [...(caFileText !== undefined ? [caFileText] : tls.rootCertificates), installedRoots.pem].join("\n") : undefined;
  const fetchResource = (resource: Resource, conditional: boolean, token?: string): Promise<FetchResult> => {
    const url = urls[resource];
    const known = state.etags[resource];
    // An ETag only proves we hold that version if the file is still there and came from this URL.
    const etag = conditional && installed[resource] && known?.url === url.href ? known.etag : undefined;
    return fetchConditional(url, { etag, token, ca, timeoutMs: options.timeoutMs });
  };
  const rememberEtag = (resource: Resource, res: FetchResult) => {
    if (res.status !== 200) return;
    if (res.etag) state.etags[resource] = { url: urls[resource].href, etag: res.etag };
    else delete state.etags[resource];
    stateDirty = true;
  };

  // --- CA chain + CRLs: one unit, because the broker needs them consistent with each other.
  try {
    const chainRes = await fetchResource("chain", true);
    if (chainRes.status === 404) throw new Error(`${displayUrl(urls.chain)}: HTTP 404 (is --url the CertFleet base URL?)`);
    // A new chain may add an issuing CA: then fetch the CRLs in full, whatever our ETag says.
    const crlRes = await fetchResource("crls", chainRes.status === 304);
    if (crlRes.status === 404) throw new Error(`${displayUrl(urls.crls)}: HTTP 404 (is --url the CertFleet base URL?)`);
    const now = clock.now();
    const chainText = bodyOrInstalled(chainRes, installed.chain, urls.chain);
    const chain = await parseCaChain(chainText, now, chainRes.status === 200 ? "downloaded CA chain" : `installed ${OUTPUT_FILES.chain}`);
    result.warnings.push(...chain.warnings);
    if (chainRes.status === 200) anchorChain(chain, [...caFileAnchors, ...installedRoots.anchors], installed.chain !== undefined, options.acceptNewRoot === true, result.warnings);

    const crlText = bodyOrInstalled(crlRes, installed.crls, urls.crls);
    // Rollback protection only matters for a download; a 304 re-checks the installed set as it is.
    const installedNumbers = crlRes.status === 200 ? await installedCrlNumbers(state, installed.crls, chain) : {};
    let crls;
    try {
      crls = await verifyCrlSet(crlText, chain, { now, maxClockSkewMs: options.maxClockSkewMs ?? CLOCK_SKEW_MS, installedNumbers }, crlRes.status === 200 ? "downloaded CRL set" : `installed ${OUTPUT_FILES.crl}`);
    } catch (e) {
      if (crlRes.status === 304 && e instanceof RefusedError) {
        throw new RefusedError(`${e.message} — and the server has nothing newer (${displayUrl(urls.crls)} answered 304 Not Modified); the broker may be refusing clients`);
      }
      throw e;
    }
    result.warnings.push(...crls.warnings);
    if (crls.notBefore) {
      const wait = crls.notBefore.getTime() - clock.now().getTime();
      if (wait > 0) {
        // Installing now would make OpenSSL see a "not yet valid" CRL and refuse every client.
        log(`${OUTPUT_FILES.crl}: thisUpdate is ${Math.ceil(wait / 1000)} s ahead of this host's clock; waiting before installing`);
        await sleep(wait);
      }
    }

    // CRLs before the chain: a CRL for a CA the broker does not trust yet is harmless, while a new
    // issuing CA without its CRL would lock out that CA's devices until the next write.
    if (await install(file(OUTPUT_FILES.crl), crls.pem, installed.crls, 0o644)) {
      result.changed.push(OUTPUT_FILES.crl);
      log(
        `${OUTPUT_FILES.crl}: installed ${crls.crls
          .map((c) => `"${c.issuer.subject}" #${c.info.number} (${c.info.count} revoked, next update ${c.info.nextUpdate!.toISOString()})`)
          .join(", ")}`,
      );
    } else result.skipped.push(OUTPUT_FILES.crl);
    if (await install(file(OUTPUT_FILES.chain), chain.pem, installed.chain, 0o644)) {
      result.changed.push(OUTPUT_FILES.chain);
      log(`${OUTPUT_FILES.chain}: installed ${chain.certificates.length} CA certificate(s): ${chain.certificates.map((c) => `"${c.subject}"`).join(", ")}`);
    } else result.skipped.push(OUTPUT_FILES.chain);
    if (options.format === "rabbitmq") {
      if (await installCrlHashDir(file(OUTPUT_FILES.crlHashDir), crls.crls, log)) result.changed.push(OUTPUT_FILES.crlHashDir);
      else result.skipped.push(OUTPUT_FILES.crlHashDir);
    }

    for (const crl of crls.crls) {
      const previous = state.crlNumbers[crl.issuer.issuerKey];
      if (!previous || BigInt(previous.number) < crl.info.number!) {
        state.crlNumbers[crl.issuer.issuerKey] = { number: crl.info.number!.toString(), issuer: crl.issuer.subject };
        stateDirty = true;
      }
    }
    rememberEtag("chain", chainRes);
    rememberEtag("crls", crlRes);
    reportFreshness(crls.crls.map((c) => ({ subject: c.issuer.subject, info: c.info })), now, result.warnings);
  } catch (e) {
    failures.push(`${OUTPUT_FILES.chain} + ${OUTPUT_FILES.crl} not updated: ${message(e)}`);
    for (const f of [OUTPUT_FILES.crl, OUTPUT_FILES.chain, ...(options.format === "rabbitmq" ? [OUTPUT_FILES.crlHashDir] : [])]) if (!result.changed.includes(f)) result.skipped.push(f);
  }

  // --- PSK file: independent of the chain, so a PSK problem never holds back a revocation.
  // RabbitMQ's MQTT listener has no PSK file.
  const pskMode = options.format === "rabbitmq" ? "off" : (options.psk ?? "auto");
  if (pskMode === "off") {
    result.skipped.push(OUTPUT_FILES.psk);
  } else {
    // Once installed, psk.txt feeds a listener: a server that stops serving it is an error, not "no PSKs".
    const required = pskMode === "require" || installed.psk !== undefined;
    try {
      if (!options.token) {
        if (required) throw new Error("a broker token (--token) is needed to download the PSK file");
        result.skipped.push(OUTPUT_FILES.psk);
      } else {
        const res = await fetchResource("psk", true, options.token);
        if (res.status === 404) {
          if (required) throw new Error(`${displayUrl(urls.psk)}: HTTP 404 (the server serves no PSK file)`);
          result.skipped.push(OUTPUT_FILES.psk);
        } else if (res.status === 304) {
          result.skipped.push(OUTPUT_FILES.psk);
        } else {
          const pskFormat = options.format as PskFormat;
          const check = validatePskFile(res.body, pskFormat);
          result.warnings.push(...check.warnings);
          if (await install(file(OUTPUT_FILES.psk), res.body, installed.psk, 0o640)) {
            result.changed.push(OUTPUT_FILES.psk);
            log(`${OUTPUT_FILES.psk}: installed ${check.entries} ${pskFormat} PSK identit${check.entries === 1 ? "y" : "ies"}`);
          } else result.skipped.push(OUTPUT_FILES.psk);
          rememberEtag("psk", res);
        }
      }
    } catch (e) {
      failures.push(`${OUTPUT_FILES.psk} not updated: ${message(e)}`);
      if (!result.skipped.includes(OUTPUT_FILES.psk)) result.skipped.push(OUTPUT_FILES.psk);
    }
  }

  // A reload that failed last time is retried even when nothing changed since: the files are in
  // place, but the broker is still running on the old ones.
  // RabbitMQ reads the hash directory at each handshake: a change there alone needs no reload.
  const needsReload = result.changed.filter((f) => f !== OUTPUT_FILES.crlHashDir && !(options.format === "rabbitmq" && f === OUTPUT_FILES.crl));
  if (needsReload.length || (state.pendingReload && options.reload)) {
    if (options.reload) {
      try {
        result.reloaded = await reloadBroker(options.reload);
        log(result.reloaded);
        if (state.pendingReload) {
          delete state.pendingReload;
          stateDirty = true;
        }
      } catch (e) {
        const what = result.changed.length ? `${result.changed.join(", ")} installed` : "files installed earlier";
        failures.push(`${what} but the broker was not reloaded: ${message(e)}`);
        state.pendingReload = true;
        stateDirty = true;
      }
    } else {
      result.warnings.push(`${needsReload.join(", ")} changed: reload the broker (no --reload-pid or --reload-cmd given)`);
    }
  }

  if (failures.length === 0) {
    state.lastSuccess = clock.now().toISOString();
    stateDirty = true;
    if (options.reportUrl) {
      try {
        await fetchConditional(new URL(`${options.reportUrl.replace(/\/+$/, "")}/synced`), { ca, timeoutMs: options.timeoutMs });
      } catch (e) {
        // The URL holds the broker's secret: name the failure, never the URL.
        result.warnings.push(`could not report the sync to CertFleet (${e instanceof FetchError && e.status ? `HTTP ${e.status}` : "no answer"})`);
      }
    }
  }
  if (stateDirty) {
    try {
      await writeFileAtomic(file(OUTPUT_FILES.state), `${JSON.stringify(state, null, 2)}\n`, 0o600);
    } catch (e) {
      failures.push(`${OUTPUT_FILES.state} not written: ${message(e)}`);
    }
  }
  for (const w of result.warnings) log(`warning: ${w}`);
  if (failures.length) throw new BrokerSyncError(failures, result);
  return result;
}

/** The roots of the installed ca-chain.pem: trust anchors for the next chain and for TLS. */
async function readInstalledRoots(installedChain: Buffer | undefined, now: Date): Promise<{ anchors: TrustAnchor[]; pem: string; unreadable?: string }> {
  if (!installedChain) return { anchors: [], pem: "" };
  try {
    const chain = await parseCaChain(installedChain.toString("latin1"), now, `installed ${OUTPUT_FILES.chain}`);
    const roots = chain.certificates.filter((c) => c.selfSigned);
    return { anchors: chainRoots(chain), pem: roots.map((c) => toPem(c.der, "CERTIFICATE")).join("") };
  } catch (e) {
    return { anchors: [], pem: "", unreadable: message(e) };
  }
}

/**
 * The downloaded chain's roots must be trust anchors (--ca-file, the installed chain's root).
 * The first install without --ca-file trusts the root the https server presents (its TLS
 * certificate was checked against the system store) and pins it; an operator who can, gives
 * --ca-file so that even the first install is anchored.
 */
function anchorChain(chain: CaChain, anchors: TrustAnchor[], hadInstalledChain: boolean, acceptNewRoot: boolean, warnings: string[]): void {
  const roots = chainRoots(chain);
  const named = roots.map((r) => `"${r.subject}" (SHA-256 ${r.fingerprint})`).join(", ");
  if (acceptNewRoot) {
    if (roots.some((r) => !anchors.some((a) => a.issuerKey === r.issuerKey))) warnings.push(`--accept-new-root: now trusting root ${named}`);
    return;
  }
  if (!anchors.length) {
    if (hadInstalledChain) {
      throw new RefusedError(
        `installed ${OUTPUT_FILES.chain} cannot be read, so the downloaded root cannot be compared with it: give --ca-file with CertFleet's root, or --accept-new-root after checking ${named}`,
      );
    }
    warnings.push(`first install without --ca-file: trusting and pinning root ${named}; a chain with another root will be refused`);
    return;
  }
  checkRootsAnchored(chain, anchors, "downloaded CA chain");
}

/** The text to verify: the download, or the installed file after a 304 Not Modified. */
function bodyOrInstalled(res: FetchResult, installedBytes: Buffer | undefined, url: URL): string {
  if (res.status === 200) return res.body.toString("latin1");
  // 304 is only expected for If-None-Match, which is only sent when the file is installed.
  if (!installedBytes) throw new Error(`${displayUrl(url)}: HTTP ${res.status} for an unconditional request`);
  return installedBytes.toString("latin1");
}

/** Writes `content` unless the installed bytes are identical; returns whether it wrote. */
async function install(target: string, content: string | Uint8Array, current: Buffer | undefined, mode: number): Promise<boolean> {
  const bytes = typeof content === "string" ? Buffer.from(content, "latin1") : Buffer.from(content);
  if (current && current.equals(bytes)) return false;
  await writeFileAtomic(target, bytes, mode);
  return true;
}

/**
 * CRL numbers to refuse going below: the state file's record, raised by what the installed
 * crl.pem actually holds (so deleting the state file does not open the door to a replay).
 */
async function installedCrlNumbers(state: SyncState, installedCrls: Buffer | undefined, chain: CaChain): Promise<Record<string, string>> {
  const numbers: Record<string, string> = {};
  for (const [key, value] of Object.entries(state.crlNumbers)) numbers[key] = value.number;
  if (!installedCrls) return numbers;
  for (const crl of await identifyCrls(installedCrls.toString("latin1"), chain)) {
    const key = crl.issuer.issuerKey;
    if (crl.info.number !== undefined && (numbers[key] === undefined || BigInt(numbers[key]) < crl.info.number)) {
      numbers[key] = crl.info.number.toString();
    }
  }
  return numbers;
}

/** Warns when an installed CRL is in the last quarter of its life: the server should have re-signed it. */
function reportFreshness(crls: { subject: string; info: CrlInfo }[], now: Date, warnings: string[]) {
  for (const { subject, info } of crls) {
    if (!info.nextUpdate) continue;
    const life = info.nextUpdate.getTime() - info.thisUpdate.getTime();
    const left = info.nextUpdate.getTime() - now.getTime();
    if (left < life / 4) {
      warnings.push(`the CRL of "${subject}" expires at ${info.nextUpdate.toISOString()}; mosquitto refuses every client after that unless a newer CRL is installed`);
    }
  }
}

const HASH_FILE = /^[0-9a-f]{8}\.r\d+$/;

/**
 * Makes DIR an `openssl rehash` directory of exactly these CRLs: `<issuer hash>.r0`, `.r1`, … for
 * issuers whose names hash alike, in the order of the set. Each file is replaced atomically (new
 * CRLs first, then stale names removed), so a handshake always finds a complete CRL for every
 * issuer. Returns whether anything changed.
 */
async function installCrlHashDir(dir: string, crls: VerifiedCrl[], log: (line: string) => void): Promise<boolean> {
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const wanted = new Map<string, string>();
  const counts = new Map<string, number>();
  for (const crl of crls) {
    const hash = opensslNameHash(crl.info.issuerDer);
    const n = counts.get(hash) ?? 0;
    counts.set(hash, n + 1);
    wanted.set(`${hash}.r${n}`, toPem(crl.der, "X509 CRL"));
  }
  let changed = false;
  for (const [name, pem] of wanted) {
    const target = path.join(dir, name);
    if (await install(target, pem, await readFileIfExists(target), 0o644)) changed = true;
  }
  for (const name of await readdir(dir)) {
    if (HASH_FILE.test(name) && !wanted.has(name)) {
      await rm(path.join(dir, name), { force: true });
      changed = true;
    }
  }
  if (changed) log(`${OUTPUT_FILES.crlHashDir}/: ${[...wanted.keys()].join(", ")}`);
  return changed;
}

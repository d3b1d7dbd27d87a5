// What broker-sync checks before it lets a broker see a file. A broker fails closed on a bad CRL
// (mosquitto refuses EVERY client) and fails whole on a bad PSK line, so nothing is installed
// that would not load, or that is older, staler or less trustworthy than what is installed.
import { createHash } from "node:crypto";
import { parseCrlInfo, verifyCrlSignature, type CrlInfo } from "../pki/crl-reader";
import { fingerprintSha256 } from "../pki/certificate";
import { parseCertificateParts } from "../pki/der";
import { splitPemBundle, toPem, type PemBlock } from "../pki/pem";
import { BasicConstraintsExtension, SubjectKeyIdentifierExtension, X509Certificate } from "../pki/x509";

/** A file was refused; the message says why in terms an operator can act on (never a secret). */
export class RefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RefusedError";
  }
}

export interface CaCertificate {
  cert: X509Certificate;
  der: Uint8Array;
  subject: string;
  /** SubjectKeyIdentifier, lowercase hex, when the certificate has one. */
  skiHex?: string;
  selfSigned: boolean;
  /**
   * Stable key for per-issuer state: hash of subject name + public key. A renewed CA certificate
   * (same name and key, new validity) keeps its CRL numbering, so it keeps this key too.
   */
  issuerKey: string;
}

export interface CaChain {
  certificates: CaCertificate[];
  /** CAs whose CRL must be installed: the ones that issue leaves (see issuingCas). */
  issuing: CaCertificate[];
  /** Normalised PEM (exactly the verified certificates), what is written to ca-chain.pem. */
  pem: string;
  warnings: string[];
}

/**
 * PEM blocks of `text`, refusing anything a broker's PEM reader could see differently: a BEGIN
 * line without its END (truncated download), bad base64, or a block of an unexpected kind.
 */
function readPemBlocks(text: string, label: string, what: string): PemBlock[] {
  let blocks: PemBlock[];
  try {
    blocks = splitPemBundle(text);
  } catch (e) {
    throw new RefusedError(`${what}: garbled PEM (${e instanceof Error ? e.message : String(e)})`);
  }
  const begins = text.match(/-----BEGIN /g)?.length ?? 0;
  if (begins !== blocks.length) {
    throw new RefusedError(`${what}: garbled PEM (${begins} BEGIN line(s) but ${blocks.length} complete block(s); truncated download?)`);
  }
  for (const [i, block] of blocks.entries()) {
    if (block.label !== label) throw new RefusedError(`${what}: PEM block ${i + 1} is "${block.label}", expected "${label}"`);
    if (block.der.length === 0) throw new RefusedError(`${what}: PEM block ${i + 1} is empty`);
  }
  return blocks;
}

function issuerKeyOf(der: Uint8Array): string {
  const parts = parseCertificateParts(der);
  return createHash("sha256").update(parts.subjectDer).update(parts.subjectPublicKeyInfoDer).digest("hex");
}

/** Parses and checks a CA bundle (chain.pem): CA certificates only, each one's issuer present. */
export async function parseCaChain(text: string, now: Date, what = "CA chain"): Promise<CaChain> {
  const blocks = readPemBlocks(text, "CERTIFICATE", what);
  if (blocks.length === 0) throw new RefusedError(`${what}: no certificate in the file`);
  const warnings: string[] = [];
  const certificates: CaCertificate[] = [];
  const seen = new Set<string>();
  for (const [i, block] of blocks.entries()) {
    let cert: X509Certificate;
    let issuerKey: string;
    try {
      cert = new X509Certificate(block.der.slice());
      issuerKey = issuerKeyOf(block.der);
    } catch (e) {
      throw new RefusedError(`${what}: certificate ${i + 1} does not parse (${e instanceof Error ? e.message : String(e)})`);
    }
    if (cert.getExtension(BasicConstraintsExtension)?.ca !== true) {
      throw new RefusedError(`${what}: "${cert.subject}" is not a CA certificate`);
    }
    const fingerprint = fingerprintSha256(block.der);
    if (seen.has(fingerprint)) continue;
    seen.add(fingerprint);
    certificates.push({
      cert,
      der: block.der,
      subject: cert.subject,
      skiHex: cert.getExtension(SubjectKeyIdentifierExtension)?.keyId?.toLowerCase(),
      selfSigned: false,
      issuerKey,
    });
  }

  for (const ca of certificates) {
    if (ca.cert.issuer === ca.cert.subject && (await verifies(ca.cert, ca.cert))) {
      ca.selfSigned = true;
      continue;
    }
    const candidates = certificates.filter((c) => c !== ca && c.cert.subject === ca.cert.issuer);
    let found = false;
    for (const candidate of candidates) {
      if (await verifies(ca.cert, candidate.cert)) {
        found = true;
        break;
      }
    }
    if (!found) {
      throw new RefusedError(
        candidates.length
          ? `${what}: the signature of "${ca.subject}" does not verify with its issuer "${ca.cert.issuer}"`
          : `${what}: the issuer "${ca.cert.issuer}" of "${ca.subject}" is not in the bundle (incomplete chain)`,
      );
    }
  }
  for (const ca of certificates) {
    if (ca.cert.notAfter.getTime() <= now.getTime()) warnings.push(`${what}: "${ca.subject}" expired on ${ca.cert.notAfter.toISOString()}`);
    else if (ca.cert.notBefore.getTime() > now.getTime()) warnings.push(`${what}: "${ca.subject}" is not valid before ${ca.cert.notBefore.toISOString()}`);
  }
  const issuing = issuingCas(certificates);
  return { certificates, issuing, pem: certificates.map((c) => toPem(c.der, "CERTIFICATE")).join(""), warnings };
}

/** A certificate broker-sync trusts as a root: from --ca-file, or the root of the installed chain. */
export interface TrustAnchor {
  subject: string;
  /** Same key as CaCertificate.issuerKey: a root re-issued with the same name and key stays trusted. */
  issuerKey: string;
  /** SHA-256 of the DER, lowercase hex, as `certfleet ca list` prints it. */
  fingerprint: string;
}

/** Every certificate of a PEM bundle given as trust anchors (--ca-file). */
export function readTrustAnchors(text: string, what: string): TrustAnchor[] {
  return readPemBlocks(text, "CERTIFICATE", what).map((block, i) => {
    try {
      return { subject: new X509Certificate(block.der.slice()).subject, issuerKey: issuerKeyOf(block.der), fingerprint: fingerprintSha256(block.der) };
    } catch (e) {
      throw new RefusedError(`${what}: certificate ${i + 1} does not parse (${e instanceof Error ? e.message : String(e)})`);
    }
  });
}

/** The self-signed roots of a verified chain. */
export function chainRoots(chain: CaChain): TrustAnchor[] {
  return chain.certificates.filter((c) => c.selfSigned).map((c) => ({ subject: c.subject, issuerKey: c.issuerKey, fingerprint: fingerprintSha256(c.der) }));
}

/**
 * Refuses a downloaded chain with a root that is not a trust anchor. Without this, whoever can
 * answer for the URL (a DNS or network position, a stolen server certificate) could install a
 * root of their own in the broker and have it accept their devices. Every root must be anchored:
 * an extra root beside the real one would be trusted by the broker just the same.
 */
export function checkRootsAnchored(chain: CaChain, anchors: readonly TrustAnchor[], what: string): void {
  const foreign = chainRoots(chain).filter((root) => !anchors.some((a) => a.issuerKey === root.issuerKey));
  if (!foreign.length) return;
  throw new RefusedError(
    `${what}: root ${foreign.map((r) => `"${r.subject}" (SHA-256 ${r.fingerprint})`).join(", ")} is not a trust anchor ` +
      `(anchors: ${anchors.map((a) => `"${a.subject}" (SHA-256 ${a.fingerprint})`).join(", ")}). ` +
      "If CertFleet's root really changed, compare the fingerprint with `npx certfleet ca list` on the server and run broker-sync once with --accept-new-root",
  );
}

/**
 * The CAs that issue leaves, whose CRL a broker needs: every non-self-signed CA (CertFleet issues
 * from issuing CAs only); a bundle of roots only (a one-tier PKI) needs a CRL from each root.
 */
function issuingCas(certificates: CaCertificate[]): CaCertificate[] {
  const intermediates = certificates.filter((c) => !c.selfSigned);
  return intermediates.length ? intermediates : certificates;
}

async function verifies(cert: X509Certificate, issuer: X509Certificate): Promise<boolean> {
  try {
    return await cert.verify({ publicKey: issuer.publicKey, signatureOnly: true });
  } catch {
    return false;
  }
}

export interface VerifiedCrl {
  der: Uint8Array;
  info: CrlInfo;
  issuer: CaCertificate;
}

export interface CrlCheckOptions {
  now: Date;
  /** Tolerated clock difference for thisUpdate (a CRL signed a moment ago by a faster clock). */
  maxClockSkewMs: number;
  /** CRL number installed per issuerKey (decimal strings, as kept in the state file). */
  installedNumbers: Readonly<Record<string, string>>;
}

export interface VerifiedCrlSet {
  crls: VerifiedCrl[];
  /** Normalised PEM (exactly the verified CRLs), what is written to crl.pem. */
  pem: string;
  /**
   * Set when a CRL's thisUpdate lies slightly in the future (within the skew): OpenSSL treats such
   * a CRL as "not yet valid" and mosquitto would refuse everyone until then, so install after it.
   */
  notBefore?: Date;
  warnings: string[];
}

/**
 * Verifies a CRL bundle (crls.pem) against `chain`: every CRL parses, is signed by a CA of the
 * chain, is current, is not older than the installed one for its issuer (replay / rollback), and
 * every issuing CA has one. All or nothing: one bad CRL refuses the whole set.
 */
export async function verifyCrlSet(text: string, chain: CaChain, options: CrlCheckOptions, what = "CRL set"): Promise<VerifiedCrlSet> {
  const blocks = readPemBlocks(text, "X509 CRL", what);
  const now = options.now.getTime();
  const crls: VerifiedCrl[] = [];
  const warnings: string[] = [];
  let notBefore: number | undefined;
  const byIssuer = new Map<string, VerifiedCrl>();

  for (const [i, block] of blocks.entries()) {
    const label = `${what}: CRL ${i + 1}`;
    let info: CrlInfo;
    try {
      info = parseCrlInfo(block.der);
    } catch (e) {
      throw new RefusedError(`${label} does not parse (${e instanceof Error ? e.message : String(e)})`);
    }
    const issuer = await findCrlIssuer(block.der, info, chain);
    if (!issuer) {
      const sameName = chain.certificates.some((c) => Buffer.compare(Buffer.from(parseCertificateParts(c.der).subjectDer), Buffer.from(info.issuerDer)) === 0);
      if (sameName) throw new RefusedError(`${label}: signature does not verify with the CA that it names (signed by another key?)`);
      // A CRL of a CA the broker does not trust (e.g. a retired issuing CA left out of the chain)
      // cannot be verified, so it is not installed; leaving it out costs nothing, as the broker
      // refuses that CA's certificates anyway.
      warnings.push(`${label} was left out: its issuer is not in the CA chain`);
      continue;
    }
    const name = `${label} of "${issuer.subject}"`;
    if (info.number === undefined) throw new RefusedError(`${name} has no CRL number (needed to refuse replayed CRLs)`);
    if (!info.nextUpdate) throw new RefusedError(`${name} has no nextUpdate (its freshness cannot be checked)`);
    if (info.nextUpdate.getTime() <= now) {
      throw new RefusedError(`${name} (number ${info.number}) is stale: nextUpdate ${info.nextUpdate.toISOString()} has passed`);
    }
    const ahead = info.thisUpdate.getTime() - now;
    if (ahead > options.maxClockSkewMs) {
      throw new RefusedError(`${name} (number ${info.number}) is not valid yet: thisUpdate ${info.thisUpdate.toISOString()} is in the future (check this host's clock)`);
    }
    if (ahead > 0) notBefore = Math.max(notBefore ?? 0, info.thisUpdate.getTime() + 1000);
    const installed = options.installedNumbers[issuer.issuerKey];
    if (installed !== undefined && info.number < BigInt(installed)) {
      throw new RefusedError(`${name} has CRL number ${info.number}, lower than the installed ${installed} (replayed or rolled-back CRL)`);
    }
    if (byIssuer.has(issuer.issuerKey)) throw new RefusedError(`${what}: two CRLs for "${issuer.subject}"`);
    const crl = { der: block.der, info, issuer };
    byIssuer.set(issuer.issuerKey, crl);
    crls.push(crl);
  }

  const missing = chain.issuing.filter((ca) => !byIssuer.has(ca.issuerKey));
  if (missing.length) {
    throw new RefusedError(
      `${what}: no CRL for ${missing.map((c) => `"${c.subject}"`).join(", ")} (with a crlfile, mosquitto refuses every client of a CA without a CRL)`,
    );
  }
  return {
    crls,
    pem: crls.map((c) => toPem(c.der, "X509 CRL")).join(""),
    notBefore: notBefore === undefined ? undefined : new Date(notBefore),
    warnings,
  };
}

/**
 * The CRLs of an installed crl.pem that verify against `chain`, without freshness or numbering
 * rules and skipping what does not parse: used to learn which CRL numbers are installed.
 */
export async function identifyCrls(text: string, chain: CaChain): Promise<VerifiedCrl[]> {
  let blocks: PemBlock[];
  try {
    blocks = splitPemBundle(text).filter((b) => b.label === "X509 CRL");
  } catch {
    return [];
  }
  const found: VerifiedCrl[] = [];
  for (const block of blocks) {
    try {
      const info = parseCrlInfo(block.der);
      const issuer = await findCrlIssuer(block.der, info, chain);
      if (issuer) found.push({ der: block.der, info, issuer });
    } catch {
      // not usable: ignored
    }
  }
  return found;
}

/** The chain CA that signed this CRL; the AKI narrows the candidates when both sides have one. */
async function findCrlIssuer(der: Uint8Array, info: CrlInfo, chain: CaChain): Promise<CaCertificate | undefined> {
  const aki = info.authorityKeyIdHex?.toLowerCase();
  const candidates = chain.certificates.filter((c) => !aki || !c.skiHex || c.skiHex === aki);
  for (const candidate of candidates) {
    try {
      if (await verifyCrlSignature(der, candidate.der)) return candidate;
    } catch {
      // An unsupported key or a malformed signature is "not this issuer".
    }
  }
  return undefined;
}

export type PskFormat = "mosquitto" | "emqx";

export interface PskCheck {
  entries: number;
  warnings: string[];
}

// TLS stacks cap PSK identities and keys (OpenSSL 1.1: 128-byte identity, 256-byte key); a longer
// one does not break the file, only that device, so it is a warning.
const MAX_IDENTITY_BYTES = 128;
const MAX_KEY_BYTES = 256;

/**
 * Checks a PSK file for the broker it is meant for. Messages name the line and identity, never the
 * secret. mosquitto (psk_file): `identity:hexkey` a line, `#` comments; ONE non-hex key makes
 * mosquitto reject the whole file, so every line must be right. EMQX (init_file): `identity:secret`
 * split at the first ":", the secret taken as raw string bytes; no comments, no blank lines.
 */
export function validatePskFile(content: Uint8Array, format: PskFormat): PskCheck {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(content);
  } catch {
    throw new RefusedError("PSK file: not valid UTF-8");
  }
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  const warnings: string[] = [];
  const identities = new Set<string>();
  let entries = 0;
  for (const [i, line] of lines.entries()) {
    const at = `PSK file line ${i + 1}`;
    // eslint-disable-next-line no-control-regex
    if (/[\x00-\x1f\x7f]/.test(line)) throw new RefusedError(`${at}: control character (CR, tab, NUL…) in the line`);
    if (format === "mosquitto" && (line === "" || line.startsWith("#"))) continue;
    if (format === "emqx" && line === "") throw new RefusedError(`${at}: blank line (EMQX's init_file has no blank lines)`);
    if (format === "emqx" && line.startsWith("#")) throw new RefusedError(`${at}: comment line (EMQX's init_file has no comments)`);
    const sep = line.indexOf(":");
    if (sep < 0) throw new RefusedError(`${at}: no ":" separator (expected identity:${format === "mosquitto" ? "hexkey" : "secret"})`);
    const identity = line.slice(0, sep);
    const secret = line.slice(sep + 1);
    if (identity === "") throw new RefusedError(`${at}: empty identity`);
    if (identity.trim() !== identity) throw new RefusedError(`${at}: identity "${identity.trim()}" has leading or trailing spaces`);
    const who = `${at} (identity "${identity}")`;
    if (secret === "") throw new RefusedError(`${who}: empty key`);
    if (format === "mosquitto") {
      if (!/^[0-9a-fA-F]+$/.test(secret)) {
        throw new RefusedError(`${who}: key is not hex (mosquitto would reject the whole PSK file)`);
      }
      if (secret.length % 2 !== 0) throw new RefusedError(`${who}: hex key has an odd number of digits`);
      if (secret.length / 2 > MAX_KEY_BYTES) warnings.push(`${who}: key longer than ${MAX_KEY_BYTES} bytes`);
    }
    if (identities.has(identity)) throw new RefusedError(`${who}: identity appears twice (the broker would use only one of the keys)`);
    identities.add(identity);
    if (Buffer.byteLength(identity) > MAX_IDENTITY_BYTES) warnings.push(`${who}: identity longer than ${MAX_IDENTITY_BYTES} bytes`);
    entries++;
  }
  return { entries, warnings };
}

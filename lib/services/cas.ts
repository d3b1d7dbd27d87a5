// Certificate authorities: the hierarchy created on first start, loading a CA's signer (the
// private key is unsealed only in memory, once per process), and the URLs written into
// certificates. A CA whose keyRef names a PKCS#11 token key signs through the token (services/hsm.ts)
// behind the same Signer: no caller knows which kind it holds.
import { createHash } from "node:crypto";
import { db, transaction } from "../db";
import { config } from "../config";
import { getMasterKey } from "../secrets";
import { AppError, notFound } from "../errors";
import { authorize, SYSTEM_ACTOR, type Actor } from "../auth/roles";
import { appendAudit } from "./audit";
import { destroyTokenKeys, generateTokenKey, tokenConfigured, tokenSigner } from "./hsm";
import {
  createIssuingCa,
  createRootCa,
  isKeyAlgorithm,
  localSigner,
  openSecret,
  sealSecret,
  toPem,
  isPkiError,
  type KeyAlgorithm,
  type RevocationUrls,
  type Signer,
} from "../pki";

export interface CaRecord {
  id: string;
  slug: string;
  name: string;
  kind: string;
  parentId: string | null;
  keyAlgorithm: string;
  subject: string;
  serialHex: string;
  notBefore: Date;
  notAfter: Date;
  fingerprint: string;
  certificateDer: Uint8Array;
  sealedKey: string;
  /** PKCS#11 URI of a token-held key (sealedKey is then ""). */
  keyRef: string | null;
  status: string;
  crlUris: string;
  estReenrollGraceDays: number;
  estRevokeSuperseded: boolean;
}

/** The URLs a certificate issued by `slug` carries; the broker endpoints answer at each. */
export function caUrls(slug: string, publicUrl = config().publicUrl): RevocationUrls {
  return {
    crl: `${publicUrl}/pki/crl/${slug}.crl`,
    ocsp: `${publicUrl}/pki/ocsp/${slug}`,
    caIssuers: `${publicUrl}/pki/ca/${slug}.cer`,
  };
}

const sealContext = (slug: string) => `ca-key:${slug}`;

async function unsealSigner(ca: Pick<CaRecord, "slug" | "keyAlgorithm" | "sealedKey">): Promise<Signer> {
  if (!isKeyAlgorithm(ca.keyAlgorithm)) throw new AppError("INTERNAL", `CA ${ca.slug} has an unknown key algorithm`);
  try {
    return await localSigner(ca.keyAlgorithm, openSecret(getMasterKey(), ca.sealedKey, sealContext(ca.slug)));
  } catch (e) {
    if (isPkiError(e, "MASTER_KEY_MISMATCH")) {
      throw new AppError(
        "MASTER_KEY_MISMATCH",
        `Cannot unseal the key of CA "${ca.slug}": the master key (CERTFLEET_MASTER_KEY or data/master.key) is not the one it was sealed with. Nothing was signed.`,
      );
    }
    throw e;
  }
}

const g = globalThis as unknown as { __certfleetSigners?: Map<string, Promise<Signer>> };
const signers = (g.__certfleetSigners ??= new Map());

/** The CA's signer: unsealed (or found on its token) once per process and kept in memory. */
export async function caSigner(ca: Pick<CaRecord, "id" | "slug" | "keyAlgorithm" | "sealedKey" | "keyRef" | "certificateDer">): Promise<Signer> {
  let signer = signers.get(ca.id);
  if (!signer) {
    signer = ca.keyRef ? tokenSigner({ ...ca, keyRef: ca.keyRef }) : unsealSigner(ca);
    signers.set(ca.id, signer);
    signer.catch(() => signers.delete(ca.id));
  }
  return signer;
}

/**
 * At start: opens the signer of every active CA whose key is on a token, so a missing token or a
 * wrong PIN is reported now, in one clear line, not at the first issuance. The server still starts:
 * the broker endpoints serve the stored CRLs and OCSP answers meanwhile. Returns the problem, if any.
 */
export async function checkTokenCas(log: (line: string) => void = console.error): Promise<string | null> {
  const cas = await db().certificateAuthority.findMany({ where: { keyRef: { not: null }, status: "active" }, orderBy: { createdAt: "asc" } });
  for (const ca of cas) {
    try {
      await caSigner(ca);
    } catch (e) {
      const problem = e instanceof Error ? e.message : String(e);
      log(`[certfleet] CA functions are OFF: the key of CA "${ca.slug}" (${ca.keyRef}) cannot be used: ${problem}`);
      return problem;
    }
  }
  if (cas.length) log(`[certfleet] CA keys on PKCS#11 token: ${cas.map((c) => c.slug).join(", ")}`);
  return null;
}

export function forgetSignersForTests() {
  signers.clear();
  forgetCaCache();
  chains.clear();
}

// Issuance reads the issuing CA on every request; its certificate and key never change and its
// status rarely does, so the record is kept for a few seconds. (crlUris only grows: a cached copy
// that already lists a URL is never wrong about it.)
const CA_CACHE_MS = 5_000;
const caCache = ((globalThis as unknown as { __certfleetCaCache?: Map<string, { at: number; ca: CaRecord }> }).__certfleetCaCache ??= new Map());

async function cachedCa(key: string, load: () => Promise<CaRecord | null>): Promise<CaRecord | null> {
  const hit = caCache.get(key);
  if (hit && Date.now() - hit.at < CA_CACHE_MS) return hit.ca;
  const ca = await load();
  if (ca) caCache.set(key, { at: Date.now(), ca });
  return ca;
}

export function forgetCaCache() {
  caCache.clear();
  bundle.value = null;
}

/** The broker's cafile: every CA certificate, issuing CAs first then roots (what /pki/chain.pem serves). */
export interface CaBundle {
  pem: string;
  etag: string;
}

// Held like the CA records (a few seconds; cleared when this process changes a CA): brokers and
// broker-sync poll it, and CA certificates change only when a CA is created or retired.
const bundle: { value: { at: number; bundle: Promise<CaBundle> } | null } = { value: null };

export function caBundle(): Promise<CaBundle> {
  const hit = bundle.value;
  if (hit && Date.now() - hit.at < CA_CACHE_MS) return hit.bundle;
  const loaded = (async () => {
    const cas = await db().certificateAuthority.findMany({ orderBy: [{ kind: "asc" }, { createdAt: "asc" }], select: { certificateDer: true } });
    const pem = cas.map((c) => toPem(c.certificateDer, "CERTIFICATE")).join("");
    return { pem, etag: `"${createHash("sha256").update(pem).digest("base64url").slice(0, 27)}"` };
  })();
  bundle.value = { at: Date.now(), bundle: loaded };
  loaded.catch(() => {
    if (bundle.value?.bundle === loaded) bundle.value = null;
  });
  return loaded;
}

/** Any CA (root or issuing) by its URL slug, from the same short-lived cache as issuance uses. */
export async function findCaBySlug(slug: string): Promise<CaRecord | null> {
  return cachedCa(`slug:${slug}`, () => db().certificateAuthority.findUnique({ where: { slug } }));
}

/** The CA that issues device certificates unless a caller names another. */
export async function defaultIssuingCa(): Promise<CaRecord> {
  const ca = await cachedCa("default", () => db().certificateAuthority.findFirst({ where: { kind: "issuing", status: "active" }, orderBy: { createdAt: "asc" } }));
  if (!ca) throw new AppError("INVALID_STATE", "No active issuing CA; start the server once to create the hierarchy");
  return ca;
}

export async function findIssuingCa(caId?: string): Promise<CaRecord> {
  if (!caId) return defaultIssuingCa();
  const ca = await cachedCa(`id:${caId}`, () => db().certificateAuthority.findFirst({ where: { OR: [{ id: caId }, { slug: caId }] } }));
  if (!ca) throw notFound("Certificate authority");
  if (ca.kind !== "issuing" || ca.status !== "active") throw new AppError("INVALID_STATE", `CA "${ca.slug}" does not issue device certificates`);
  return ca;
}

/** Creates the root and the first issuing CA on first start; does nothing when they exist. */
export async function ensureCaHierarchy(log: (line: string) => void = () => undefined): Promise<void> {
  if (await db().certificateAuthority.findFirst({ where: { kind: "issuing" } })) return;
  const cfg = config();
  const algorithm: KeyAlgorithm = cfg.caAlgorithm;
  const org = cfg.caOrganization;
  const dn = (cn: string) => `CN=${cn}, O=${org}`;
  const master = getMasterKey();
  const onToken = tokenConfigured();

  // With a token, both keys are generated on it (non-extractable) and only their URIs are stored.
  const tokenKeys: Awaited<ReturnType<typeof generateTokenKey>>[] = [];
  const caKey = async (slug: string) => {
    if (!onToken) return {};
    const key = await generateTokenKey(algorithm, slug);
    tokenKeys.push(key);
    return { signer: key.signer };
  };
  let recorded = false;
  let root: Awaited<ReturnType<typeof createRootCa>> | undefined;
  let issuing: Awaited<ReturnType<typeof createIssuingCa>> | undefined;
  try {
    root = await createRootCa({ subject: dn(cfg.rootCaName), algorithm, ...(await caKey("root")) });
    issuing = await createIssuingCa({ parent: root, subject: dn(cfg.issuingCaName), algorithm, ...(await caKey("issuing-1")) });
    const rows = [
      { slug: "root", name: cfg.rootCaName, kind: "root", ca: root, parentSlug: null, keyRef: tokenKeys[0]?.keyRef ?? null },
      { slug: "issuing-1", name: cfg.issuingCaName, kind: "issuing", ca: issuing, parentSlug: "root", keyRef: tokenKeys[1]?.keyRef ?? null },
    ];
    await transaction(async (tx) => {
      const ids: Record<string, string> = {};
      for (const r of rows) {
        const created = await tx.certificateAuthority.create({
          data: {
            slug: r.slug,
            name: r.name,
            kind: r.kind,
            parentId: r.parentSlug ? ids[r.parentSlug] : null,
            keyAlgorithm: r.ca.keyAlgorithm,
            subject: r.ca.subject,
            serialHex: r.ca.serialHex,
            notBefore: r.ca.notBefore,
            notAfter: r.ca.notAfter,
            fingerprint: r.ca.fingerprintSha256,
            certificateDer: new Uint8Array(r.ca.der),
            sealedKey: r.keyRef ? "" : sealSecret(master, r.ca.pkcs8!, sealContext(r.slug)),
            keyRef: r.keyRef,
          },
        });
        ids[r.slug] = created.id;
        await appendAudit(tx, SYSTEM_ACTOR, {
          action: "ca.create",
          targetType: "ca",
          targetId: created.id,
          details: { slug: r.slug, subject: r.ca.subject, keyAlgorithm: r.ca.keyAlgorithm, notAfter: r.ca.notAfter, ...(r.keyRef ? { keyRef: r.keyRef } : {}) },
        });
      }
    });
    recorded = true;
    forgetCaCache();
    log(`[certfleet] created CA hierarchy: ${root.subject} → ${issuing.subject} (${algorithm}${onToken ? `, keys on PKCS#11 token: ${tokenKeys.map((k) => k.keyRef).join(", ")}` : ""})`);
  } catch (e) {
    // Another instance created it at the same moment: theirs stands.
    if ((e as { code?: string }).code === "P2002") return;
    throw e;
  } finally {
    root?.pkcs8?.fill(0);
    issuing?.pkcs8?.fill(0);
    // Keys no CA record names would sit on the token forever: remove them.
    if (!recorded && tokenKeys.length) await destroyTokenKeys(tokenKeys.map((k) => k.ref), log);
  }
}

export interface CaView {
  id: string;
  slug: string;
  name: string;
  kind: string;
  parentId: string | null;
  status: string;
  keyAlgorithm: string;
  subject: string;
  serialHex: string;
  notBefore: Date;
  notAfter: Date;
  fingerprint: string;
  certificatePem: string;
  urls: RevocationUrls | null;
  /** EST re-enrollment (issuing CAs): days an expired certificate may still re-enroll; revoke the old one as superseded. */
  est: { reenrollGraceDays: number; revokeSuperseded: boolean } | null;
}

export function toCaView(ca: CaRecord): CaView {
  return {
    id: ca.id,
    slug: ca.slug,
    name: ca.name,
    kind: ca.kind,
    parentId: ca.parentId,
    status: ca.status,
    keyAlgorithm: ca.keyAlgorithm,
    subject: ca.subject,
    serialHex: ca.serialHex,
    notBefore: ca.notBefore,
    notAfter: ca.notAfter,
    fingerprint: ca.fingerprint,
    certificatePem: toPem(ca.certificateDer, "CERTIFICATE"),
    urls: ca.kind === "issuing" ? caUrls(ca.slug) : null,
    est: ca.kind === "issuing" ? { reenrollGraceDays: ca.estReenrollGraceDays, revokeSuperseded: ca.estRevokeSuperseded } : null,
  };
}

export async function listCas(actor: Actor): Promise<CaView[]> {
  authorize(actor, "cas:read");
  const cas = await db().certificateAuthority.findMany({ orderBy: [{ kind: "desc" }, { createdAt: "asc" }] });
  return cas.map(toCaView);
}

const chains = ((globalThis as unknown as { __certfleetChains?: Map<string, string> }).__certfleetChains ??= new Map());

/** PEM chain from an issuing CA up to its root (issuing first). CA certificates never change: cached. */
export async function caChainPem(ca: CaRecord): Promise<string> {
  const cached = chains.get(ca.id);
  if (cached) return cached;
  const chain: string[] = [];
  let current: CaRecord | null = ca;
  while (current) {
    chain.push(toPem(current.certificateDer, "CERTIFICATE"));
    current = current.parentId ? await db().certificateAuthority.findUnique({ where: { id: current.parentId } }) : null;
  }
  chains.set(ca.id, chain.join(""));
  return chain.join("");
}

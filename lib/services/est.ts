// EST (RFC 7030) use cases: one-time enrollment secrets, bootstrap (manufacturer) CAs, per-CA
// re-enrollment settings, and the three ways a device gets a certificate without an operator —
// enroll with a secret, enroll with a bootstrap certificate, re-enroll with its current
// certificate. Each issuance is written by the one issuance writer (recordIssuedInTx) in the same
// transaction as what it consumes (the secret, the old certificate, a device created on first
// enrollment). A refusal writes nothing but its audit event.
import { createHash, randomBytes } from "node:crypto";
import { db, transaction } from "../db";
import { config } from "../config";
import { AppError, notFound } from "../errors";
import { authorize, type Actor } from "../auth/roles";
import { sharedThrottle } from "../auth/rate-limit";
import { appendAudit } from "./audit";
import { caChainPem, findCaBySlug, findIssuingCa, type CaRecord } from "./cas";
import { signDeviceCertificate } from "./certificates";
import { commitIssued, issueAuditDetails, issuedItem, recordIssuedInTx, recordSuccessorInTx, type CertificateRow, type IssuedKey } from "./issuance";
import { announceRevocations } from "./revocation";
import { findReenrollSource } from "./issuance-store";
import { exportPkcs8, exportSpki, generateKeyPair, isPkiError, parseCsr, pemToDer, splitPemBundle, X509Certificate, type SubjectAltNames } from "../pki";
import { fingerprintSha256 } from "../pki/certificate";
import { certsOnlyCms, findClientCertificateIssuer, readEstCsrBody, subjectFields } from "../pki/est";
import { parseCrlInfo, readCrlEntries, verifyCrlSignature } from "../pki/crl-reader";
import { bytesEqual, parseCertificateParts } from "../pki/der";
import { ZDeviceName } from "../validation/common";
import { countOutcome, processMetrics } from "./metrics";
import type { TBootstrapCaInput, TBootstrapCrlInput, TCaEstSettings, TEnrollmentSecretInput } from "../validation/est";

// ---------------------------------------------------------------------------------------------
// Operator side

export interface EnrollmentSecretView {
  username: string;
  /** Shown once; only its SHA-256 is stored. */
  password: string;
  expiresAt: Date;
  estUrl: string;
}

const hashSecret = (secret: string) => createHash("sha256").update(secret, "utf8").digest("hex");

/** A one-time EST secret for a device (HTTP Basic: username = device name, password = secret). */
export async function createEnrollmentSecret(actor: Actor, deviceId: string, input: TEnrollmentSecretInput = {}): Promise<EnrollmentSecretView> {
  authorize(actor, "certificates:write");
  // 192 bits: guessing is hopeless, so a fast hash (like API tokens) is enough.
  const password = randomBytes(24).toString("base64url");
  const expiresAt = new Date(Date.now() + (input.validDays ?? config().estSecretDays) * 86_400_000);
  const device = await transaction(async (tx) => {
    const device = await tx.device.findUnique({ where: { id: deviceId }, select: { id: true, name: true, status: true } });
    if (!device) throw notFound("Device");
    if (device.status !== "active") throw new AppError("INVALID_STATE", `Device "${device.name}" is ${device.status}; only active devices enroll`);
    const secret = await tx.enrollmentSecret.create({ data: { deviceId, secretHash: hashSecret(password), expiresAt, createdBy: actor.label } });
    await appendAudit(tx, actor, { action: "enrollment.secret-create", targetType: "device", targetId: deviceId, details: { secretId: secret.id, expiresAt } });
    return device;
  });
  return { username: device.name, password, expiresAt, estUrl: `${config().estUrl}/` };
}

export interface DeviceEnrollmentView {
  /** secret | bootstrap | reenroll: how it last enrolled over EST; null = never. */
  enrolledBy: string | null;
  enrolledAt: Date | null;
  /** The bootstrap CA of the last bootstrap enrollment (from its audit event). */
  bootstrapCa: string | null;
  pendingSecret: { expiresAt: Date; createdAt: Date } | null;
}

export async function getDeviceEnrollment(actor: Actor, deviceId: string): Promise<DeviceEnrollmentView> {
  authorize(actor, "devices:read");
  const device = await db().device.findUnique({ where: { id: deviceId }, select: { estEnrolledBy: true, estEnrolledAt: true } });
  if (!device) throw notFound("Device");
  const now = new Date();
  const [pending, issued] = await Promise.all([
    db().enrollmentSecret.findFirst({
      where: { deviceId, usedAt: null, expiresAt: { gt: now } },
      orderBy: { createdAt: "desc" },
      select: { expiresAt: true, createdAt: true },
    }),
    // Which manufacturer CA vouched is written only in the issuance's audit event.
    device.estEnrolledBy === "bootstrap"
      ? db().auditEvent.findFirst({ where: { targetType: "device", targetId: deviceId, action: "certificate.issue", details: { contains: '"auth":"bootstrap"' } }, orderBy: { seq: "desc" }, select: { details: true } })
      : Promise.resolve(null),
  ]);
  const bootstrapCa = issued ? ((JSON.parse(issued.details) as { bootstrapCa?: string }).bootstrapCa ?? null) : null;
  return { enrolledBy: device.estEnrolledBy, enrolledAt: device.estEnrolledAt, bootstrapCa, pendingSecret: pending };
}

export interface BootstrapCaView {
  id: string;
  name: string;
  subject: string;
  fingerprint: string;
  lookup: string;
  allowCreate: boolean;
  tags: string[];
  status: string;
  createdAt: Date;
  /** The attached CRL, if any: its validity and how many certificates it revokes. */
  crl: { thisUpdate: Date; nextUpdate: Date; revoked: number } | null;
}

type BootstrapRowView = { id: string; name: string; subject: string; fingerprint: string; lookup: string; allowCreate: boolean; tags: string; status: string; createdAt: Date; crlDer: Uint8Array | null; crlThisUpdate: Date | null; crlNextUpdate: Date | null };

function toBootstrapView(row: BootstrapRowView): BootstrapCaView {
  const crl = row.crlDer && row.crlThisUpdate && row.crlNextUpdate ? { thisUpdate: row.crlThisUpdate, nextUpdate: row.crlNextUpdate, revoked: revokedSerials(row).size } : null;
  return { id: row.id, name: row.name, subject: row.subject, fingerprint: row.fingerprint, lookup: row.lookup, allowCreate: row.allowCreate, tags: JSON.parse(row.tags) as string[], status: row.status, createdAt: row.createdAt, crl };
}

// Serials without leading zero octets, so "00a1…" (DER pad) and "a1…" name one certificate.
const bareSerial = (hex: string) => hex.toLowerCase().replace(/^0+(?=.)/, "");
const revokedCache = new Map<string, { crl: Uint8Array; serials: Set<string> }>();

/** The serials a bootstrap CA's attached CRL revokes (parsed once per CRL). */
function revokedSerials(row: { id: string; crlDer: Uint8Array | null }): Set<string> {
  if (!row.crlDer) return new Set();
  const hit = revokedCache.get(row.id);
  if (hit && hit.crl.length === row.crlDer.length && Buffer.from(hit.crl).equals(Buffer.from(row.crlDer))) return hit.serials;
  const serials = new Set<string>();
  for (const entry of readCrlEntries(row.crlDer)) serials.add(bareSerial(entry.serialHex));
  revokedCache.set(row.id, { crl: row.crlDer, serials });
  return serials;
}

/**
 * Attaches (or replaces) a bootstrap CA's CRL: PEM or base64 DER, signed by that CA (issuer name
 * and signature), complete (no delta), with a nextUpdate, and not older than the one it replaces.
 * From then on a bootstrap certificate it lists is refused, and so is every bootstrap
 * certificate of that CA once the CRL is past its nextUpdate (fail closed: the CA may have
 * revoked more since).
 */
export async function attachBootstrapCrl(actor: Actor, id: string, input: TBootstrapCrlInput): Promise<BootstrapCaView> {
  authorize(actor, "cas:write");
  const invalid = (message: string) => new AppError("VALIDATION", message, [{ path: "crl", message }]);
  let der: Uint8Array;
  try {
    der = input.crl.includes("-----BEGIN") ? pemToDer(input.crl, "X509 CRL") : readBase64(input.crl);
  } catch {
    throw invalid("Not a CRL: give the PEM (-----BEGIN X509 CRL-----) or the DER file");
  }
  const found = await db().bootstrapCa.findUnique({ where: { id } });
  if (!found) throw notFound("Bootstrap CA");
  let info;
  try {
    info = parseCrlInfo(der);
    if (!(await verifyCrlSignature(der, found.certificateDer))) throw invalid(`The CRL is not signed by bootstrap CA "${found.name}" (issuer name or signature differ)`);
    for (const entry of readCrlEntries(der)) void entry; // every entry must parse before the CRL is trusted
  } catch (e) {
    if (e instanceof AppError) throw e;
    throw invalid(`Not a usable CRL: ${e instanceof Error ? e.message : "unreadable"}`);
  }
  if (!info.nextUpdate) throw invalid("The CRL has no nextUpdate: CertFleet could not tell when it goes stale");
  const now = new Date();
  if (info.nextUpdate <= now) throw invalid(`The CRL is stale: its nextUpdate (${info.nextUpdate.toISOString()}) has passed`);
  const older = (attached: Date | null) => attached && info.thisUpdate < attached;
  if (older(found.crlThisUpdate)) throw invalid("The CRL is older than the one attached already");
  const row = await transaction(async (tx) => {
    // Checked again where it counts: of two uploads racing, an older CRL never replaces a newer one.
    const current = await tx.bootstrapCa.findUnique({ where: { id }, select: { crlThisUpdate: true } });
    if (!current) throw notFound("Bootstrap CA");
    if (older(current.crlThisUpdate)) throw invalid("The CRL is older than the one attached already");
    const updated = await tx.bootstrapCa.update({ where: { id }, data: { crlDer: new Uint8Array(der), crlThisUpdate: info.thisUpdate, crlNextUpdate: info.nextUpdate } });
    await appendAudit(tx, actor, {
      action: "bootstrap-ca.crl",
      targetType: "bootstrap-ca",
      targetId: id,
      details: { name: found.name, thisUpdate: info.thisUpdate, nextUpdate: info.nextUpdate, number: info.number?.toString(), revoked: info.count },
    });
    return updated;
  });
  bootstrapCache.value = null;
  return toBootstrapView(row);
}

function readBase64(text: string): Uint8Array {
  const compact = text.replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(compact) || compact.length % 4 !== 0) throw new Error("not base64");
  return new Uint8Array(Buffer.from(compact, "base64"));
}

/** Removes a bootstrap CA: its certificates no longer enroll (devices it created stay). */
export async function deleteBootstrapCa(actor: Actor, id: string): Promise<{ id: string; name: string }> {
  authorize(actor, "cas:write");
  const removed = await transaction(async (tx) => {
    const found = await tx.bootstrapCa.findUnique({ where: { id }, select: { id: true, name: true, fingerprint: true } });
    if (!found) throw notFound("Bootstrap CA");
    await tx.bootstrapCa.delete({ where: { id } });
    await appendAudit(tx, actor, { action: "bootstrap-ca.delete", targetType: "bootstrap-ca", targetId: id, details: { name: found.name, fingerprint: found.fingerprint } });
    return found;
  });
  bootstrapCache.value = null;
  revokedCache.delete(id);
  return { id: removed.id, name: removed.name };
}

export async function registerBootstrapCa(actor: Actor, input: TBootstrapCaInput): Promise<BootstrapCaView> {
  authorize(actor, "cas:write");
  let der: Uint8Array;
  let subject: string;
  try {
    der = pemToDer(input.certificatePem, "CERTIFICATE");
    const cert = new X509Certificate(der.slice());
    subject = cert.subject;
    const bc = cert.getExtension("2.5.29.19") as unknown as { ca?: boolean } | null;
    if (!bc?.ca) throw new AppError("VALIDATION", "The certificate is not a CA certificate (basicConstraints cA is not set)", [{ path: "certificatePem", message: "Not a CA certificate" }]);
  } catch (e) {
    if (e instanceof AppError) throw e;
    throw new AppError("VALIDATION", "certificatePem is not a PEM certificate", [{ path: "certificatePem", message: "Not a PEM certificate" }]);
  }
  const fingerprint = fingerprintSha256(der);
  const row = await transaction(async (tx) => {
    const clash = await tx.bootstrapCa.findFirst({ where: { OR: [{ name: input.name }, { fingerprint }] }, select: { name: true } });
    if (clash) throw new AppError("CONFLICT", `Bootstrap CA "${clash.name}" already has this name or certificate`);
    const created = await tx.bootstrapCa.create({
      data: { name: input.name, subject, fingerprint, certificateDer: new Uint8Array(der), lookup: input.lookup, allowCreate: input.allowCreate, tags: JSON.stringify(input.tags) },
    });
    await appendAudit(tx, actor, { action: "bootstrap-ca.register", targetType: "bootstrap-ca", targetId: created.id, details: { name: input.name, subject, fingerprint, lookup: input.lookup, allowCreate: input.allowCreate, tags: input.tags } });
    return created;
  });
  bootstrapCache.value = null;
  return toBootstrapView(row);
}

export async function listBootstrapCas(actor: Actor): Promise<BootstrapCaView[]> {
  authorize(actor, "cas:read");
  return (await db().bootstrapCa.findMany({ orderBy: { createdAt: "asc" } })).map(toBootstrapView);
}

export async function setBootstrapCaStatus(actor: Actor, id: string, status: "active" | "disabled"): Promise<BootstrapCaView> {
  authorize(actor, "cas:write");
  const row = await transaction(async (tx) => {
    const found = await tx.bootstrapCa.findUnique({ where: { id } });
    if (!found) throw notFound("Bootstrap CA");
    const updated = await tx.bootstrapCa.update({ where: { id }, data: { status } });
    await appendAudit(tx, actor, { action: `bootstrap-ca.${status === "active" ? "enable" : "disable"}`, targetType: "bootstrap-ca", targetId: id, details: { name: found.name } });
    return updated;
  });
  bootstrapCache.value = null;
  return toBootstrapView(row);
}

export async function updateCaEstSettings(actor: Actor, caId: string, input: TCaEstSettings): Promise<{ slug: string; estReenrollGraceDays: number; estRevokeSuperseded: boolean }> {
  authorize(actor, "cas:write");
  return transaction(async (tx) => {
    const ca = await tx.certificateAuthority.findFirst({ where: { OR: [{ id: caId }, { slug: caId }] } });
    if (!ca) throw notFound("Certificate authority");
    if (ca.kind !== "issuing") throw new AppError("INVALID_STATE", `CA "${ca.slug}" does not issue device certificates`);
    const updated = await tx.certificateAuthority.update({ where: { id: ca.id }, data: { estReenrollGraceDays: input.reenrollGraceDays, estRevokeSuperseded: input.revokeSuperseded } });
    await appendAudit(tx, actor, { action: "ca.est-settings", targetType: "ca", targetId: ca.id, details: { ...input } });
    return { slug: updated.slug, estReenrollGraceDays: updated.estReenrollGraceDays, estRevokeSuperseded: updated.estRevokeSuperseded };
  });
}

// ---------------------------------------------------------------------------------------------
// Device side (called by lib/http/est.ts)

/** How an EST request authenticated: HTTP Basic, and/or the TLS client certificate (DER). */
export interface EstCredentials {
  basic?: { username: string; password: string };
  clientCertificate?: Uint8Array;
  /** Client address, for the secret throttle and the audit trail. */
  address: string;
}

export interface EstIssued {
  certificate: CertificateRow;
  cms: Uint8Array;
  /** serverkeygen only: the key CertFleet generated (PKCS#8), handed to the client and never stored. */
  privateKeyPkcs8?: Uint8Array;
}

const estActor = (label: string): Actor => ({ kind: "system", id: "system", label: `est:${label}`, role: "viewer" });

// Secrets are 192-bit random, so this is not what keeps them safe; it keeps a guessing client
// from turning the audit log and the CPU into its playground. Same policy as sign-in.
const throttle = sharedThrottle("est-secret");

async function refuse(error: AppError, route: string, credentials: EstCredentials, details: Record<string, unknown> = {}, deviceId?: string): Promise<never> {
  await transaction(async (tx) => {
    await appendAudit(tx, estActor(details.auth ? String(details.auth) : "anonymous"), {
      action: "est.refuse",
      targetType: deviceId ? "device" : undefined,
      targetId: deviceId,
      details: { route, status: error.status, reason: error.message, address: credentials.address, ...details },
    });
  });
  throw error;
}

/** The issuing CA an EST label names (RFC 7030 3.2.2), or the default one. */
async function estCa(label: string | undefined): Promise<CaRecord> {
  if (!label) return findIssuingCa();
  const ca = await findCaBySlug(label);
  if (!ca || ca.kind !== "issuing" || ca.status !== "active") throw new AppError("NOT_FOUND", `No issuing CA "${label}"`);
  return ca;
}

type EstKey = IssuedKey & { pkcs8?: Uint8Array };

/**
 * The CSR of an EST request, checked as the REST path checks it (policy, proof of possession).
 * For serverkeygen (RFC 7030 4.4) the certificate gets a key CertFleet generates instead, of the
 * CSR key's algorithm (so the client chooses EC P-256/P-384 or an RSA size by the key it signs with).
 */
async function readCsr(body: Buffer, generate = false): Promise<{ key: EstKey; subject: () => string; subjectDer: Uint8Array }> {
  let csr;
  try {
    csr = await parseCsr(readEstCsrBody(body));
  } catch (e) {
    if (isPkiError(e)) throw new AppError("BAD_REQUEST", e.message);
    throw e;
  }
  const subject = () => csr.subject;
  const subjectDer = csr.subjectDer;
  if (!generate) return { key: { spki: csr.publicKey, keyAlgorithm: csr.keyAlgorithm, keySource: "csr" }, subject, subjectDer };
  const pair = await generateKeyPair(csr.keyAlgorithm);
  return { key: { spki: await exportSpki(pair.publicKey), pkcs8: await exportPkcs8(pair.privateKey), keyAlgorithm: csr.keyAlgorithm, keySource: "generated" }, subject, subjectDer };
}

const cacertsCache = new Map<string, { at: number; cms: Uint8Array }>();

/** The CA chain of the label's issuing CA (issuing first, root last) as certs-only CMS. */
export async function estCaCerts(label?: string): Promise<Uint8Array> {
  const ca = await estCa(label);
  const hit = cacertsCache.get(ca.id);
  if (hit && Date.now() - hit.at < 60_000) return hit.cms;
  const cms = certsOnlyCms(splitPemBundle(await caChainPem(ca)).map((b) => b.der));
  cacertsCache.set(ca.id, { at: Date.now(), cms });
  return cms;
}

function sign(ca: CaRecord, deviceName: string, key: IssuedKey, old?: { profile: string; sans: SubjectAltNames }) {
  return signDeviceCertificate({ ca, deviceName, key, profile: old?.profile === "broker-server" ? "broker-server" : "device-client", sans: old?.sans });
}

/** POST simpleenroll: by one-time secret (HTTP Basic) or by a bootstrap certificate (TLS). */
export function estEnroll(label: string | undefined, credentials: EstCredentials, body: Buffer): Promise<EstIssued> {
  return countEst("simpleenroll", enroll(label, credentials, body));
}

/** EST outcomes for the metrics: success, refused (an answered AppError: auth, policy, bad CSR) or error. */
function countEst<T>(operation: "simpleenroll" | "simplereenroll" | "serverkeygen", work: Promise<T>): Promise<T> {
  return countOutcome((outcome) => processMetrics().est.inc({ operation, outcome }), work, undefined, (e) => (e instanceof AppError && e.status < 500 ? "refused" : "error"));
}

async function enroll(label: string | undefined, credentials: EstCredentials, body: Buffer): Promise<EstIssued> {
  const ca = await estCa(label);
  if (credentials.basic) return enrollBySecret(ca, credentials, credentials.basic, body);
  if (credentials.clientCertificate) return enrollByBootstrap(ca, credentials, credentials.clientCertificate, body);
  throw new AppError("UNAUTHENTICATED", "EST enrollment needs a one-time secret (HTTP Basic) or a bootstrap client certificate");
}

/**
 * POST serverkeygen (RFC 7030 4.4): as simpleenroll (one-time secret or bootstrap certificate), or
 * as simplereenroll when the client certificate is the device's CertFleet certificate; the
 * certificate certifies a key generated here, returned once beside it and never stored.
 */
export function estServerKeygen(label: string | undefined, credentials: EstCredentials, body: Buffer): Promise<EstIssued> {
  return countEst("serverkeygen", serverKeygen(label, credentials, body));
}

async function serverKeygen(label: string | undefined, credentials: EstCredentials, body: Buffer): Promise<EstIssued> {
  if (credentials.basic) return enrollBySecret(await estCa(label), credentials, credentials.basic, body, true);
  if (credentials.clientCertificate) {
    const ours = await db().certificate.findUnique({ where: { fingerprint: fingerprintSha256(credentials.clientCertificate) }, select: { deviceId: true, profile: true } });
    if (ours?.deviceId && ours.profile !== "ocsp-responder") return reenroll(label, credentials, body, true);
    return enrollByBootstrap(await estCa(label), credentials, credentials.clientCertificate, body, true);
  }
  throw new AppError("UNAUTHENTICATED", "EST serverkeygen needs a one-time secret (HTTP Basic) or a client certificate");
}

async function enrollBySecret(ca: CaRecord, credentials: EstCredentials, basic: { username: string; password: string }, body: Buffer, generate = false): Promise<EstIssued> {
  const route = generate ? "serverkeygen" : "simpleenroll";
  const wait = await throttle.tryBegin(basic.username, credentials.address);
  if (wait > 0) throw Object.assign(new AppError("RATE_LIMITED", `Too many wrong secrets; retry in ${Math.ceil(wait / 1000)} s`), { retryAfterSeconds: Math.ceil(wait / 1000) });
  let secret;
  try {
    secret = await db().enrollmentSecret.findUnique({ where: { secretHash: hashSecret(basic.password) }, include: { device: { select: { id: true, name: true, status: true } } } });
  } catch (e) {
    await throttle.abandon(basic.username, credentials.address);
    throw e;
  }
  const why = !secret || secret.device.name !== basic.username ? "unknown secret" : secret.usedAt ? "secret already used" : secret.expiresAt <= new Date() ? "secret expired" : null;
  if (why || !secret) {
    await throttle.fail(basic.username, credentials.address);
    // One answer for all three: a client learns nothing about which secrets exist.
    return refuse(new AppError("UNAUTHENTICATED", "Wrong, used or expired enrollment secret"), route, credentials, { auth: "secret", username: basic.username, why }, secret?.deviceId);
  }
  await throttle.succeed(basic.username, credentials.address);
  const device = secret.device;
  const details = { auth: "secret", secretId: secret.id };
  if (device.status !== "active") return refuse(new AppError("FORBIDDEN", `Device "${device.name}" is ${device.status}`), route, credentials, details, device.id);
  const csr = await readCsr(body, generate).catch((e: unknown) => (e instanceof AppError ? refuse(e, route, credentials, details, device.id) : Promise.reject(e)));
  const issued = await sign(ca, device.name, csr.key);
  const item = issuedItem({ ca, deviceId: device.id, issued, key: csr.key }, (row) => ({
    actor: estActor("secret"),
    input: { action: "certificate.issue", targetType: "device", targetId: device.id, details: issueAuditDetails(row, ca.slug, { via: "est", auth: "secret", secretId: secret.id }) },
  }));
  const row = await transaction(async (tx) => {
    // The claim is the check that counts: two requests with one secret cannot both pass it.
    const claimed = await tx.enrollmentSecret.updateMany({ where: { id: secret.id, usedAt: null, expiresAt: { gt: new Date() } }, data: { usedAt: new Date() } });
    if (claimed.count !== 1) throw new AppError("UNAUTHENTICATED", "Wrong, used or expired enrollment secret");
    return recordIssuedInTx(tx, { ...item, enrolledBy: "secret" });
  }).catch((e: unknown) => (e instanceof AppError ? refuse(e, route, credentials, details, device.id) : Promise.reject(e)));
  return { certificate: row, cms: certsOnlyCms([row.der]), privateKeyPkcs8: csr.key.pkcs8 };
}

const BOOTSTRAP_CACHE_MS = 5_000;
type BootstrapRow = Awaited<ReturnType<ReturnType<typeof db>["bootstrapCa"]["findMany"]>>[number];
// On globalThis: the custom server (EST) and Next's bundle (REST, server actions) each load their own
// copy of this module in one process, and a registration or CRL through the one must reach the other.
const bootstrapCache = ((globalThis as unknown as { __certfleetEstBootstrapCas?: { value: { at: number; rows: Promise<BootstrapRow[]> } | null } }).__certfleetEstBootstrapCas ??= { value: null });

function activeBootstrapCas(): Promise<BootstrapRow[]> {
  const hit = bootstrapCache.value;
  if (hit && Date.now() - hit.at < BOOTSTRAP_CACHE_MS) return hit.rows;
  const rows = db().bootstrapCa.findMany({ where: { status: "active" } });
  bootstrapCache.value = { at: Date.now(), rows };
  rows.catch(() => (bootstrapCache.value = null));
  return rows;
}

async function enrollByBootstrap(ca: CaRecord, credentials: EstCredentials, der: Uint8Array, body: Buffer, generate = false): Promise<EstIssued> {
  const route = generate ? "serverkeygen" : "simpleenroll";
  const found = findClientCertificateIssuer(der, await activeBootstrapCas());
  const fingerprint = fingerprintSha256(der);
  if (!found) return refuse(new AppError("UNAUTHENTICATED", "The client certificate is not from a registered bootstrap CA"), route, credentials, { auth: "bootstrap", fingerprint });
  const bootstrap = found.issuer;
  const details = { auth: "bootstrap", bootstrapCa: bootstrap.name, fingerprint };
  const now = new Date();
  if (now < found.notBefore || now > found.notAfter) return refuse(new AppError("FORBIDDEN", "The bootstrap certificate is not valid now"), route, credentials, details);
  if (bootstrap.crlDer) {
    if (!bootstrap.crlNextUpdate || bootstrap.crlNextUpdate <= now) {
      return refuse(new AppError("FORBIDDEN", `The CRL of bootstrap CA "${bootstrap.name}" is past its nextUpdate; an admin must attach a current one`), route, credentials, details);
    }
    if (revokedSerials(bootstrap).has(bareSerial(found.certificate.serialNumber))) {
      return refuse(new AppError("FORBIDDEN", `The bootstrap certificate is revoked by bootstrap CA "${bootstrap.name}"`), route, credentials, details);
    }
  }
  const fields = subjectFields(der);
  const value = bootstrap.lookup === "serial" ? fields.serialNumber : fields.commonName;
  if (!value) return refuse(new AppError("FORBIDDEN", `The bootstrap certificate has no ${bootstrap.lookup === "serial" ? "serialNumber" : "CN"} to find its device by`), route, credentials, details);
  const byName = bootstrap.lookup === "cn-as-name";
  let device = await db().device.findUnique({ where: byName ? { name: value } : { externalId: value }, select: { id: true, name: true, status: true } });
  let create: { name: string; externalId?: string } | null = null;
  if (!device) {
    const name = ZDeviceName.safeParse(value);
    if (!bootstrap.allowCreate || !name.success) {
      return refuse(new AppError("FORBIDDEN", `No device for "${value}" and bootstrap CA "${bootstrap.name}" ${bootstrap.allowCreate ? "cannot name one after it" : "may not create devices"}`), route, credentials, { ...details, value });
    }
    create = { name: name.data, externalId: byName ? undefined : value };
  } else if (device.status !== "active") {
    return refuse(new AppError("FORBIDDEN", `Device "${device.name}" is ${device.status}`), route, credentials, details, device.id);
  }
  const csr = await readCsr(body, generate).catch((e: unknown) => (e instanceof AppError ? refuse(e, route, credentials, details, device?.id) : Promise.reject(e)));
  const deviceName = device?.name ?? create!.name;
  const issued = await sign(ca, deviceName, csr.key);
  const actor = estActor(`bootstrap:${bootstrap.name}`);
  const row = await transaction(async (tx) => {
    if (create) {
      if (await tx.device.findFirst({ where: { OR: [{ name: create.name }, ...(create.externalId ? [{ externalId: create.externalId }] : [])] }, select: { id: true } })) {
        throw new AppError("FORBIDDEN", `A device named "${create.name}" (or with that external id) appeared meanwhile`);
      }
      const tags: string[] = JSON.parse(bootstrap.tags);
      device = await tx.device.create({ data: { name: create.name, externalId: create.externalId, tags: { create: tags.map((tag) => ({ tag })) } }, select: { id: true, name: true, status: true } });
      await appendAudit(tx, actor, { action: "device.create", targetType: "device", targetId: device.id, details: { name: device.name, tags, via: "est", bootstrapCa: bootstrap.name } });
    }
    const item = issuedItem({ ca, deviceId: device!.id, issued, key: csr.key }, (r) => ({
      actor,
      input: { action: "certificate.issue", targetType: "device", targetId: device!.id, details: issueAuditDetails(r, ca.slug, { via: "est", auth: "bootstrap", bootstrapCa: bootstrap.name, bootstrapFingerprint: fingerprint }) },
    }));
    return recordIssuedInTx(tx, { ...item, enrolledBy: "bootstrap" });
  }).catch((e: unknown) => (e instanceof AppError ? refuse(e, route, credentials, details, device?.id) : Promise.reject(e)));
  return { certificate: row, cms: certsOnlyCms([row.der]), privateKeyPkcs8: csr.key.pkcs8 };
}

/** POST simplereenroll: the TLS client certificate is the device's current CertFleet certificate. */
export function estReenroll(label: string | undefined, credentials: EstCredentials, body: Buffer): Promise<EstIssued> {
  return countEst("simplereenroll", reenroll(label, credentials, body));
}

async function reenroll(label: string | undefined, credentials: EstCredentials, body: Buffer, generate = false): Promise<EstIssued> {
  const route = generate ? "serverkeygen" : "simplereenroll";
  const der = credentials.clientCertificate;
  if (!der) throw new AppError("UNAUTHENTICATED", "Re-enrollment needs the current certificate as the TLS client certificate");
  const fingerprint = fingerprintSha256(der);
  // A stored certificate with this exact DER is ours; the TLS handshake proved the key.
  // One cached statement for the certificate, its CA's EST settings and its device (the storm's hot path).
  const old = await findReenrollSource(fingerprint);
  if (!old || !old.deviceId || old.profile === "ocsp-responder") return refuse(new AppError("UNAUTHENTICATED", "The client certificate was not issued by CertFleet to a device"), route, credentials, { auth: "certificate", fingerprint });
  const details = { auth: "certificate", certificateId: old.id, serial: old.serialHex };
  const deviceId = old.deviceId;
  if (old.status === "revoked") return refuse(new AppError("FORBIDDEN", "The client certificate is revoked"), route, credentials, details, deviceId);
  if (old.status === "superseded") return refuse(new AppError("FORBIDDEN", "The client certificate was already renewed; re-enroll with the current one"), route, credentials, details, deviceId);
  const oldCa = old.ca;
  const now = new Date();
  if (old.notAfter.getTime() + oldCa.estReenrollGraceDays * 86_400_000 <= now.getTime()) {
    return refuse(new AppError("FORBIDDEN", oldCa.estReenrollGraceDays ? `The client certificate expired more than ${oldCa.estReenrollGraceDays} days ago` : "The client certificate has expired"), route, credentials, details, deviceId);
  }
  const device = old.device!;
  if (device.status !== "active") return refuse(new AppError("FORBIDDEN", `Device "${device.name}" is ${device.status}`), route, credentials, details, deviceId);
  const csr = await readCsr(body, generate).catch((e: unknown) => (e instanceof AppError ? refuse(e, route, credentials, details, deviceId) : Promise.reject(e)));
  // RFC 7030 4.2.2: the subject of a re-enrollment must be the certificate's. Byte-equal DER is
  // the common case and cheap; otherwise the decoded names are compared (a client may encode
  // "CertFleet" as PrintableString where CertFleet wrote UTF8String). The stored subject is the
  // certificate's, in the CSR parser's string form (lib/pki/tbs.ts).
  if (!bytesEqual(csr.subjectDer, parseCertificateParts(old.der).subjectDer) && csr.subject() !== old.subject) {
    return refuse(new AppError("BAD_REQUEST", `The CSR subject "${csr.subject()}" is not the certificate's "${old.subject}"`), route, credentials, details, deviceId);
  }
  const ca = label ? await estCa(label) : await findIssuingCa(old.caId).catch(() => findIssuingCa());
  const sans = JSON.parse(old.sans) as SubjectAltNames;
  const issued = await sign(ca, device.name, csr.key, { profile: old.profile, sans });
  const revokeOld = oldCa.estRevokeSuperseded;
  const item = issuedItem({ ca, deviceId, issued, key: csr.key, sans }, (row) => ({
    actor: estActor("reenroll"),
    input: {
      action: "certificate.renew",
      targetType: "device",
      targetId: deviceId,
      details: { oldCertificateId: old.id, oldSerial: old.serialHex, certificateId: row.id, serial: row.serialHex, rekey: generate, revokedOld: revokeOld, notAfter: row.notAfter, via: "est" },
    },
  }));
  const changedMeanwhile = () => new AppError("FORBIDDEN", "The client certificate changed meanwhile (renewed or revoked)");
  const row = await (revokeOld
    ? // Revoking the old certificate goes through the one revoker, a Prisma-transaction writer.
      transaction(
        async (tx) => {
          // As a renewal: of two re-enrollments with one certificate, one wins.
          const created = await recordSuccessorInTx(tx, old.id, { ...item, enrolledBy: "reenroll" }, { revokeOld, at: now });
          if (!created) throw changedMeanwhile();
          return created;
        },
        { timeout: 60_000, maxWait: 30_000 },
      )
    : // Otherwise the group commit: claim, record and link in one commit shared with concurrent issuances.
      commitIssued({ ...item, supersedes: old.id, enrolledBy: "reenroll" }).catch((e: unknown) => Promise.reject(e instanceof AppError && e.code === "CONFLICT" ? changedMeanwhile() : e))
  ).catch((e: unknown) => (e instanceof AppError ? refuse(e, route, credentials, details, deviceId) : Promise.reject(e)));
  if (revokeOld) announceRevocations([old.caId]);
  return { certificate: row, cms: certsOnlyCms([row.der]), privateKeyPkcs8: csr.key.pkcs8 };
}

// Certificate use cases: issue (from a CSR or a server-generated key), renew, revoke, un-hold,
// read. Signing happens before the transaction (it is CPU work); the record is committed before
// anything is returned, so a caller never holds a certificate the database does not know.
import { db, transaction } from "../db";
import { config } from "../config";
import { AppError, notFound } from "../errors";
import { authorize, type Actor } from "../auth/roles";
import { withAudit } from "./audit";
import { cursorOf, cursorTime, decodeCursor, encodeCursor } from "./keyset";
import { announceRevocations, releaseHoldInTx, revokeInTx } from "./revocation";
import { commitIssued, issueAuditDetails, issuedItem, recordSuccessorInTx, type CertificateRow, type IssuedKey } from "./issuance";
import { findDeviceForIssuance, isSerialCollision } from "./issuance-store";
import { refuseReservedNames } from "./reserved-names";
import { caChainPem, caSigner, caUrls, findIssuingCa, type CaRecord } from "./cas";
import {
  buildPkcs12,
  exportPkcs8,
  exportSpki,
  generateKeyPair,
  issueCertificate,
  parseCsr,
  systemClock,
  toPem,
  isKeyAlgorithm,
  type Clock,
  type KeyAlgorithm,
  type SubjectAltNames,
} from "../pki";
import { REVOCATION_REASON_NAMES, REVOCATION_REASONS } from "../pki/revocation-reasons";
import { reasonCode, type TCertificateQuery, type TIssueCertificate, type TRenewCertificate, type TRevokeReason } from "../validation/certificates";
import type { Prisma } from "../generated/sqlite/client";

export interface CertificateView {
  id: string;
  deviceId: string | null;
  caId: string;
  serialHex: string;
  profile: string;
  subject: string;
  sans: SubjectAltNames;
  notBefore: Date;
  notAfter: Date;
  fingerprint: string;
  keySource: string;
  keyAlgorithm: string;
  /** active | revoked | superseded | expired (expired is derived from notAfter). */
  status: string;
  revokedAt: Date | null;
  revocationReason: string | null;
  supersededById: string | null;
  createdAt: Date;
}

export function effectiveStatus(c: Pick<CertificateRow, "status" | "notAfter">, now = new Date()): string {
  return c.status !== "revoked" && c.notAfter <= now ? "expired" : c.status;
}

export function toCertificateView(c: CertificateRow): CertificateView {
  return {
    id: c.id,
    deviceId: c.deviceId,
    caId: c.caId,
    serialHex: c.serialHex,
    profile: c.profile,
    subject: c.subject,
    sans: JSON.parse(c.sans) as SubjectAltNames,
    notBefore: c.notBefore,
    notAfter: c.notAfter,
    fingerprint: c.fingerprint,
    keySource: c.keySource,
    keyAlgorithm: c.keyAlgorithm,
    status: effectiveStatus(c),
    revokedAt: c.revokedAt,
    revocationReason: c.revocationReason === null ? null : (REVOCATION_REASON_NAMES[c.revocationReason] ?? String(c.revocationReason)),
    supersededById: c.supersededById,
    createdAt: c.createdAt,
  };
}

export interface IssuedCredential {
  certificate: CertificateView;
  certificatePem: string;
  /** Issuing CA first, root last. */
  chainPem: string;
  /** Only for a server-generated key with format "pem": returned once, never stored. */
  privateKeyPem?: string;
  /** Only for format "pkcs12": base64 of the PKCS#12 (key + certificate + chain) under the caller's password. */
  pkcs12Base64?: string;
}

interface KeyMaterial extends IssuedKey {
  /** Present only for a key generated here; wiped after delivery. */
  pkcs8?: Uint8Array;
}

async function keyFromRequest(input: { csr?: string; generateKey?: { algorithm: KeyAlgorithm } }): Promise<KeyMaterial> {
  if (input.csr !== undefined) {
    const csr = await parseCsr(input.csr);
    return { spki: csr.publicKey, keyAlgorithm: csr.keyAlgorithm, keySource: "csr" };
  }
  return generatedKey(input.generateKey!.algorithm);
}

async function generatedKey(algorithm: KeyAlgorithm): Promise<KeyMaterial> {
  const pair = await generateKeyPair(algorithm);
  return { spki: await exportSpki(pair.publicKey), pkcs8: await exportPkcs8(pair.privateKey), keyAlgorithm: algorithm, keySource: "generated" };
}

async function loadActiveDevice(deviceId: string) {
  const device = await findDeviceForIssuance(deviceId);
  if (!device) throw notFound("Device");
  if (device.status !== "active") throw new AppError("INVALID_STATE", `Device "${device.name}" is ${device.status}; only active devices get certificates`);
  return device;
}

/** Signs a device's certificate (no database writes). Exposed for the demo seed and benchmarks. */
export async function signDeviceCertificate(params: {
  ca: CaRecord;
  deviceName: string;
  key: KeyMaterial;
  profile?: "device-client" | "broker-server";
  sans?: SubjectAltNames;
  validityDays?: number;
  clock?: Clock;
}) {
  refuseReservedNames(params.deviceName, params.sans);
  return issueCertificate({
    issuer: { certificate: params.ca.certificateDer, signer: await caSigner(params.ca) },
    profile: params.profile ?? "device-client",
    subject: { commonName: params.deviceName, organization: config().caOrganization },
    sans: params.sans,
    publicKey: params.key.spki,
    validityDays: params.validityDays ?? config().deviceCertDays,
    urls: caUrls(params.ca.slug),
    clock: params.clock ?? systemClock,
  });
}

async function deliver(row: CertificateRow, ca: CaRecord, key: KeyMaterial, input: { format: "pem" | "pkcs12"; password?: string }, deviceName: string): Promise<IssuedCredential> {
  const chainPem = await caChainPem(ca);
  const out: IssuedCredential = { certificate: toCertificateView(row), certificatePem: toPem(row.der, "CERTIFICATE"), chainPem };
  if (key.pkcs8) {
    try {
      if (input.format === "pkcs12") {
        const chain = [ca.certificateDer];
        if (ca.parentId) {
          const parent = await db().certificateAuthority.findUnique({ where: { id: ca.parentId } });
          if (parent) chain.push(parent.certificateDer);
        }
        const p12 = await buildPkcs12({ privateKeyPkcs8: key.pkcs8, certificate: row.der, chain, password: input.password!, friendlyName: deviceName });
        out.pkcs12Base64 = Buffer.from(p12).toString("base64");
      } else {
        out.privateKeyPem = toPem(key.pkcs8, "PRIVATE KEY");
      }
    } finally {
      key.pkcs8.fill(0);
    }
  }
  return out;
}

function retryOnSerialCollision<T>(fn: () => Promise<T>): Promise<T> {
  // 128-bit random serials do not collide in practice; the (caId, serialHex) unique index is the
  // guarantee, and one retry with a fresh serial turns the impossible into the harmless.
  return fn().catch((e) => {
    if (isSerialCollision(e)) return fn();
    throw e;
  });
}

export async function issueDeviceCertificate(actor: Actor, deviceId: string, input: TIssueCertificate, clock: Clock = systemClock): Promise<IssuedCredential> {
  authorize(actor, "certificates:write");
  const device = await loadActiveDevice(deviceId);
  const ca = await findIssuingCa(input.caId);
  const key = await keyFromRequest(input);
  return retryOnSerialCollision(async () => {
    const issued = await signDeviceCertificate({ ca, deviceName: device.name, key, profile: input.profile, sans: input.sans, validityDays: input.validityDays, clock });
    const item = issuedItem({ ca, deviceId, issued, key, sans: input.sans }, (row) => ({
      actor,
      input: { action: "certificate.issue", targetType: "device", targetId: deviceId, details: issueAuditDetails(row, ca.slug) },
    }));
    const row = await commitIssued(item);
    return deliver(row, ca, key, input, device.name);
  });
}

export async function renewCertificate(actor: Actor, certificateId: string, input: TRenewCertificate, clock: Clock = systemClock): Promise<IssuedCredential> {
  authorize(actor, "certificates:write");
  const old = await db().certificate.findUnique({ where: { id: certificateId } });
  if (!old || !old.deviceId) throw notFound("Certificate");
  if (old.status === "revoked") throw new AppError("INVALID_STATE", "A revoked certificate cannot be renewed; issue a new certificate for the device");
  if (old.status === "superseded") throw new AppError("INVALID_STATE", `This certificate was already renewed (by ${old.supersededById}); renew the current one`);
  if (input.rekey && old.keySource !== "generated") {
    throw new AppError("INVALID_STATE", "This device holds its own key (CSR): submit a new CSR to change the key");
  }
  if (!isKeyAlgorithm(old.keyAlgorithm)) throw new AppError("INTERNAL", "Unknown key algorithm on record");
  const device = await loadActiveDevice(old.deviceId);
  const ca = await findIssuingCa(old.caId).catch(() => findIssuingCa());
  const key: KeyMaterial = input.rekey ? await generatedKey(old.keyAlgorithm) : { spki: old.publicKeyDer, keyAlgorithm: old.keyAlgorithm, keySource: old.keySource as "csr" | "generated" };
  const sans = JSON.parse(old.sans) as SubjectAltNames;
  const validityDays = input.validityDays ?? Math.max(1, Math.round((old.notAfter.getTime() - old.notBefore.getTime()) / 86_400_000));
  return retryOnSerialCollision(async () => {
    const profile = old.profile === "broker-server" ? "broker-server" : "device-client";
    const issued = await signDeviceCertificate({ ca, deviceName: device.name, key, profile, sans, validityDays, clock });
    const item = issuedItem({ ca, deviceId: device.id, issued, key, sans }, (row) => ({
      actor,
      input: {
        action: "certificate.renew",
        targetType: "device",
        targetId: device.id,
        details: { oldCertificateId: old.id, oldSerial: old.serialHex, certificateId: row.id, serial: row.serialHex, rekey: input.rekey, revokedOld: input.revokeOld, notAfter: row.notAfter },
      },
    }));
    const row = await transaction(
      async (tx) => {
        // Claimed inside the transaction: two clicks on Renew must not both succeed.
        const created = await recordSuccessorInTx(tx, old.id, item, { revokeOld: input.revokeOld, at: clock.now() });
        if (!created) throw new AppError("INVALID_STATE", "The certificate changed meanwhile (already renewed or revoked)");
        return created;
      },
      { timeout: 60_000, maxWait: 30_000 },
    );
    if (input.revokeOld) announceRevocations([old.caId]);
    return deliver(row, ca, key, input, device.name);
  });
}

export async function revokeCertificate(actor: Actor, certificateId: string, reason: TRevokeReason): Promise<CertificateView> {
  authorize(actor, "certificates:write");
  const code = reasonCode(reason);
  const row = await withAudit(actor, async (tx) => {
    const cert = await tx.certificate.findUnique({ where: { id: certificateId } });
    if (!cert) throw notFound("Certificate");
    const onHold = cert.status === "revoked" && cert.revocationReason === REVOCATION_REASONS.certificateHold;
    if (cert.status === "revoked" && !(onHold && code !== REVOCATION_REASONS.certificateHold)) {
      throw new AppError("INVALID_STATE", `The certificate is already revoked (${REVOCATION_REASON_NAMES[cert.revocationReason ?? 0]})`);
    }
    await revokeInTx(tx, [cert.id], code, new Date());
    const updated = await tx.certificate.findUniqueOrThrow({ where: { id: cert.id } });
    return {
      result: updated,
      audit: { action: onHold ? "certificate.revoke-held" : "certificate.revoke", targetType: "device", targetId: cert.deviceId ?? undefined, details: { certificateId: cert.id, serial: cert.serialHex, reason } },
    };
  });
  announceRevocations([row.caId], [row.deviceId]);
  return toCertificateView(row);
}

/** Releases a certificateHold: the certificate is valid again and leaves the CRL. */
export async function unholdCertificate(actor: Actor, certificateId: string): Promise<CertificateView> {
  authorize(actor, "certificates:write");
  const row = await withAudit(actor, async (tx) => {
    const cert = await tx.certificate.findUnique({ where: { id: certificateId } });
    if (!cert) throw notFound("Certificate");
    if (cert.status !== "revoked" || cert.revocationReason !== REVOCATION_REASONS.certificateHold) {
      throw new AppError("INVALID_STATE", "Only a certificate on hold (certificateHold) can be released");
    }
    if (cert.deviceId) {
      const device = await tx.device.findUnique({ where: { id: cert.deviceId }, select: { status: true } });
      if (device && device.status !== "active") throw new AppError("INVALID_STATE", `The device is ${device.status}: its certificate stays revoked`);
    }
    await releaseHoldInTx(tx, cert);
    const updated = await tx.certificate.findUniqueOrThrow({ where: { id: cert.id } });
    return { result: updated, audit: { action: "certificate.unhold", targetType: "device", targetId: cert.deviceId ?? undefined, details: { certificateId: cert.id, serial: cert.serialHex } } };
  });
  announceRevocations([row.caId], [row.deviceId]);
  return toCertificateView(row);
}

export async function getCertificate(actor: Actor, id: string): Promise<CertificateView & { pem: string }> {
  authorize(actor, "certificates:read");
  const row = await db().certificate.findUnique({ where: { id } });
  if (!row) throw notFound("Certificate");
  return { ...toCertificateView(row), pem: toPem(row.der, "CERTIFICATE") };
}

export async function listCertificates(actor: Actor, query: TCertificateQuery): Promise<{ items: CertificateView[]; nextCursor: string | null }> {
  authorize(actor, "certificates:read");
  const now = new Date();
  const and: Prisma.CertificateWhereInput[] = [];
  if (query.deviceId) and.push({ deviceId: query.deviceId });
  if (query.caId) and.push({ caId: query.caId });
  if (query.profile) and.push({ profile: query.profile });
  if (query.serial) and.push({ serialHex: query.serial });
  if (query.status === "expired") and.push({ status: { in: ["active", "superseded"] }, notAfter: { lte: now } });
  else if (query.status === "active") and.push({ status: "active", notAfter: { gt: now } });
  else if (query.status) and.push({ status: query.status });
  if (query.expiringWithinDays !== undefined) {
    and.push({ status: "active", notAfter: { gt: query.includeExpired ? new Date(0) : now, lte: new Date(now.getTime() + query.expiringWithinDays * 86_400_000) } });
  }
  if (query.cursor) {
    const cursor = decodeCursor(query.cursor);
    const at = cursorTime(cursor);
    and.push({ OR: [{ notAfter: { gt: at } }, { notAfter: at, id: { gt: cursor.id } }] });
  }
  const rows = await db().certificate.findMany({ where: { AND: and }, orderBy: [{ notAfter: "asc" }, { id: "asc" }], take: query.limit + 1 });
  const page = rows.slice(0, query.limit);
  const last = page[page.length - 1];
  return {
    items: page.map(toCertificateView),
    nextCursor: rows.length > query.limit && last ? encodeCursor(cursorOf(last.notAfter, last.id)) : null,
  };
}

// The HTTPS identity of the server itself: TLS_CERT_FILE/TLS_KEY_FILE when given, else a
// broker-server certificate issued by CertFleet's own issuing CA for CERTFLEET_TLS_HOSTS. The
// self-issued key lives only in memory (a restart issues a new one) and is renewed before expiry.
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { transaction } from "../db";
import { config } from "../config";
import { SYSTEM_ACTOR } from "../auth/roles";
import { appendAudit } from "./audit";
import { caChainPem, caSigner, caUrls, defaultIssuingCa } from "./cas";
import { exportPkcs8, exportSpki, generateKeyPair, issueCertificate, toPem } from "../pki";

const SERVER_CERT_DAYS = 90;

export interface TlsIdentity {
  cert: string;
  key: string;
  notAfter: Date | null;
  source: "files" | "self-issued";
}

/** TLS 1.2+ with forward-secret AEAD suites only (TLS 1.3 suites are always strong). */
export const TLS_OPTIONS = {
  minVersion: "TLSv1.2" as const,
  ciphers: [
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_AES_128_GCM_SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305",
    "ECDHE-RSA-CHACHA20-POLY1305",
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256",
  ].join(":"),
  honorCipherOrder: true,
};

export async function loadTlsIdentity(): Promise<TlsIdentity> {
  const cfg = config();
  if (cfg.tlsCertFile || cfg.tlsKeyFile) {
    if (!cfg.tlsCertFile || !cfg.tlsKeyFile) throw new Error("Set both TLS_CERT_FILE and TLS_KEY_FILE, or neither");
    return { cert: readFileSync(cfg.tlsCertFile, "utf8"), key: readFileSync(cfg.tlsKeyFile, "utf8"), notAfter: null, source: "files" };
  }
  const ca = await defaultIssuingCa();
  const pair = await generateKeyPair("EC-P256");
  const dns = cfg.tlsHosts.filter((h) => !isIP(h));
  const ip = cfg.tlsHosts.filter((h) => isIP(h));
  const issued = await issueCertificate({
    issuer: { certificate: ca.certificateDer, signer: await caSigner(ca) },
    profile: "broker-server",
    subject: { commonName: dns[0] ?? ip[0] ?? "localhost", organization: cfg.caOrganization },
    sans: { dns, ip },
    publicKey: await exportSpki(pair.publicKey),
    validityDays: SERVER_CERT_DAYS,
    urls: caUrls(ca.slug),
  });
  await transaction(async (tx) => {
    const row = await tx.certificate.create({
      data: {
        caId: ca.id,
        serialHex: issued.serialHex,
        profile: "broker-server",
        subject: issued.subject,
        sans: JSON.stringify({ dns, ip }),
        notBefore: issued.notBefore,
        notAfter: issued.notAfter,
        fingerprint: issued.fingerprintSha256,
        keySource: "generated",
        keyAlgorithm: "EC-P256",
        publicKeyDer: new Uint8Array(await exportSpki(pair.publicKey)),
        der: new Uint8Array(issued.der),
      },
    });
    await appendAudit(tx, SYSTEM_ACTOR, { action: "tls.server-certificate", targetType: "certificate", targetId: row.id, details: { serial: issued.serialHex, hosts: cfg.tlsHosts, notAfter: issued.notAfter } });
  });
  const pkcs8 = await exportPkcs8(pair.privateKey);
  const key = toPem(pkcs8, "PRIVATE KEY");
  pkcs8.fill(0);
  return { cert: issued.pem + (await caChainPem(ca)), key, notAfter: issued.notAfter, source: "self-issued" };
}

/** True when a self-issued identity has less than a third of its life left. */
export function tlsNeedsRenewal(identity: TlsIdentity, now = Date.now()): boolean {
  return identity.source === "self-issued" && identity.notAfter !== null && identity.notAfter.getTime() - now < (SERVER_CERT_DAYS * 86_400_000) / 3;
}

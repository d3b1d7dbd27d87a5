// A throwaway CertFleet PKI for broker tests, made with lib/pki: root → issuing CA → broker server
// certificate (127.0.0.1 / localhost) and two device certificates, written as PEM files for
// mosquitto and its clients; plus CRLs of the issuing CA on demand.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createIssuingCa, createRootCa, type CreatedCa } from "@/lib/pki/ca";
import { buildCrl, crlToPem, encodeCrlEntry } from "@/lib/pki/crl-writer";
import { exportPkcs8Pem, generateKeyPair } from "@/lib/pki/keys";
import { issueCertificate, type IssuedCertificate } from "@/lib/pki/issue";
import type { Signer } from "@/lib/pki/signer";

/** CDP written into the leaves; the CRLs' Issuing Distribution Point must name it (BROKERS.md). */
export const TEST_CDP_URI = "http://certfleet.test/pki/crl/issuing-ca.crl";
const URLS = { crl: TEST_CDP_URI, ocsp: "http://certfleet.test/ocsp", caIssuers: "http://certfleet.test/pki/ca/issuing-ca.crt" };
const DAY = 86_400_000;

export interface Leaf {
  issued: IssuedCertificate;
  certFile: string;
  keyFile: string;
  serialHex: string;
}

export interface CrlSpec {
  number: bigint;
  revoked?: Leaf[];
  thisUpdate?: Date;
  nextUpdate?: Date;
  /** Sign with this key instead of the issuing CA's (a forgery). */
  signer?: Signer;
}

export interface BrokerPki {
  dir: string;
  root: CreatedCa;
  issuing: CreatedCa;
  server: Leaf;
  deviceA: Leaf;
  deviceB: Leaf;
  /** issuing CA then root, PEM: what /pki/chain.pem serves. */
  chainPem: string;
  chainFile: string;
  /** A PEM CRL of the issuing CA. */
  crl(spec: CrlSpec): Promise<string>;
  /** A PEM CRL of the root (CA certificates it revoked: none). */
  rootCrl(number: bigint): Promise<string>;
  /** A key that is not the issuing CA's, for forged CRLs. */
  otherSigner(): Promise<Signer>;
  /** A valid PEM CRL of an unrelated CA (not in the chain). */
  foreignCrl(): Promise<string>;
  file(name: string): string;
  cleanup(): void;
}

export async function createBrokerPki(): Promise<BrokerPki> {
  const dir = mkdtempSync(path.join(tmpdir(), "certfleet-broker-pki-"));
  const file = (name: string) => path.join(dir, name);
  const root = await createRootCa({ subject: "CN=CertFleet Test Root CA, O=CertFleet Tests" });
  const issuing = await createIssuingCa({
    subject: "CN=CertFleet Test Issuing CA, O=CertFleet Tests",
    parent: { certificate: root.certificate, signer: root.signer },
  });
  const issuer = { certificate: issuing.certificate, signer: issuing.signer };

  const leaf = async (name: string, profile: "broker-server" | "device-client", sans: { dns?: string[]; ip?: string[] } | undefined): Promise<Leaf> => {
    const keys = await generateKeyPair("EC-P256");
    const issued = await issueCertificate({ issuer, profile, subject: { commonName: name }, sans, publicKey: keys.publicKey, urls: URLS });
    writeFileSync(file(`${name}.pem`), issued.pem);
    writeFileSync(file(`${name}.key`), await exportPkcs8Pem(keys.privateKey), { mode: 0o600 });
    return { issued, certFile: file(`${name}.pem`), keyFile: file(`${name}.key`), serialHex: issued.serialHex };
  };
  const server = await leaf("broker", "broker-server", { dns: ["localhost"], ip: ["127.0.0.1"] });
  const deviceA = await leaf("device-a", "device-client", undefined);
  const deviceB = await leaf("device-b", "device-client", undefined);
  const chainPem = issuing.pem + root.pem;
  writeFileSync(file("chain.pem"), chainPem);

  const crl = async (spec: CrlSpec) => {
    const now = Date.now();
    const der = await buildCrl({
      issuerCertificate: issuing.der,
      signer: spec.signer ?? issuing.signer,
      crlNumber: spec.number,
      thisUpdate: spec.thisUpdate ?? new Date(now - 60_000),
      nextUpdate: spec.nextUpdate ?? new Date(now + DAY),
      entries: (spec.revoked ?? []).map((l) => encodeCrlEntry({ serialHex: l.serialHex, revokedAt: new Date(now - 30_000), reason: "keyCompromise" })),
      idpUris: [TEST_CDP_URI],
    });
    return crlToPem(der);
  };
  const rootCrl = async (number: bigint) => {
    const now = Date.now();
    return crlToPem(
      await buildCrl({
        issuerCertificate: root.der,
        signer: root.signer,
        crlNumber: number,
        thisUpdate: new Date(now - 60_000),
        nextUpdate: new Date(now + 30 * DAY),
        entries: [],
        idpUris: ["http://certfleet.test/pki/crl/root-ca.crl"],
      }),
    );
  };
  const otherSigner = async () => (await createRootCa({ subject: "CN=Impostor" })).signer;
  const foreignCrl = async () => {
    const foreign = await createRootCa({ subject: "CN=Somebody Else's CA" });
    const now = Date.now();
    return crlToPem(
      await buildCrl({ issuerCertificate: foreign.der, signer: foreign.signer, crlNumber: 1n, thisUpdate: new Date(now - 60_000), nextUpdate: new Date(now + DAY), entries: [], idpUris: ["http://elsewhere.test/ca.crl"] }),
    );
  };

  return {
    dir,
    root,
    issuing,
    server,
    deviceA,
    deviceB,
    chainPem,
    chainFile: file("chain.pem"),
    crl,
    rootCrl,
    otherSigner,
    foreignCrl,
    file,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

// Throwaway PKI for the revocation tests: root → issuing CA → {delegated OCSP responder, two
// leaves}, generated with @peculiar/x509 and written as PEM into a temp dir for the OpenSSL CLI.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import * as x509 from "@/lib/pki/x509";
import { ALGORITHM_PARAMS, type KeyAlgorithm } from "@/lib/pki/algorithms";
import { CryptoKeySigner } from "@/lib/pki/signer";

export const CDP_URI = "http://pki.certfleet.test/crl/issuing.crl";
export const OLD_CDP_URI = "http://old.certfleet.test/crl/issuing.crl";
export const OCSP_URI = "http://pki.certfleet.test/ocsp";
const OID_OCSP_NOCHECK = "1.3.6.1.5.5.7.48.1.5";

export interface Issued {
  cert: x509.X509Certificate;
  der: Uint8Array;
  pemFile: string;
  keys: CryptoKeyPair;
  signer: CryptoKeySigner;
}

export interface TestPki {
  dir: string;
  root: Issued;
  issuing: Issued;
  responder: Issued;
  /** Two leaves with CDP = CDP_URI and AIA OCSP = OCSP_URI. */
  leaf1: Issued;
  leaf2: Issued;
  /** issuing + root PEM. */
  chainFile: string;
  /** A file path inside the temp dir. */
  file(name: string): string;
  cleanup(): void;
}

async function newKeys(algorithm: KeyAlgorithm): Promise<CryptoKeyPair> {
  return (await x509.crypto.subtle.generateKey(ALGORITHM_PARAMS[algorithm].keyGen, true, ["sign", "verify"])) as CryptoKeyPair;
}

function randomSerial(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] & 0x7f) | 0x40; // positive, 16 significant bytes
  return Buffer.from(bytes).toString("hex");
}

export async function createTestPki(caAlgorithm: KeyAlgorithm = "EC-P256"): Promise<TestPki> {
  const dir = mkdtempSync(path.join(tmpdir(), "certfleet-revocation-"));
  const file = (name: string) => path.join(dir, name);
  const now = Date.now();
  const notBefore = new Date(now - 3600_000);
  const notAfter = new Date(now + 365 * 86400_000);

  const write = (name: string, cert: x509.X509Certificate) => {
    writeFileSync(file(name), cert.toString("pem") + "\n");
    return file(name);
  };

  const rootKeys = await newKeys(caAlgorithm);
  const rootCert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: "CN=CertFleet Test Root,O=CertFleet Tests",
    notBefore,
    notAfter,
    keys: rootKeys,
    signingAlgorithm: ALGORITHM_PARAMS[caAlgorithm].signing,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(rootKeys.publicKey),
    ],
  });
  const root: Issued = {
    cert: rootCert,
    der: new Uint8Array(rootCert.rawData),
    pemFile: write("root.pem", rootCert),
    keys: rootKeys,
    signer: new CryptoKeySigner(caAlgorithm, rootKeys.privateKey, rootKeys.publicKey),
  };

  const issue = async (
    name: string,
    subject: string,
    issuer: Issued,
    algorithm: KeyAlgorithm,
    extensions: x509.Extension[],
  ): Promise<Issued> => {
    const keys = await newKeys(algorithm);
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: randomSerial(),
      subject,
      issuer: issuer.cert.subjectName,
      notBefore,
      notAfter,
      publicKey: keys.publicKey,
      signingKey: issuer.keys.privateKey,
      signingAlgorithm: ALGORITHM_PARAMS[issuer.signer.algorithm].signing,
      extensions: [
        ...extensions,
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
        await x509.AuthorityKeyIdentifierExtension.create(issuer.cert.publicKey),
      ],
    });
    return {
      cert,
      der: new Uint8Array(cert.rawData),
      pemFile: write(name, cert),
      keys,
      signer: new CryptoKeySigner(algorithm, keys.privateKey, keys.publicKey),
    };
  };

  const issuing = await issue("issuing.pem", "CN=CertFleet Test Issuing CA,O=CertFleet Tests", root, caAlgorithm, [
    new x509.BasicConstraintsExtension(true, 0, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
  ]);
  const responder = await issue("responder.pem", "CN=CertFleet Test OCSP Responder,O=CertFleet Tests", issuing, caAlgorithm, [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.ocspSigning]),
    new x509.Extension(OID_OCSP_NOCHECK, false, Uint8Array.of(0x05, 0x00)),
  ]);
  const leafExtensions = () => [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
    new x509.CRLDistributionPointsExtension([CDP_URI]),
    new x509.AuthorityInfoAccessExtension({ ocsp: [OCSP_URI] }),
  ];
  const leaf1 = await issue("leaf1.pem", "CN=device-0001", issuing, "EC-P256", leafExtensions());
  const leaf2 = await issue("leaf2.pem", "CN=device-0002", issuing, "EC-P256", leafExtensions());

  const chainFile = file("chain.pem");
  writeFileSync(chainFile, issuing.cert.toString("pem") + "\n" + root.cert.toString("pem") + "\n");

  return { dir, root, issuing, responder, leaf1, leaf2, chainFile, file, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface CommandResult {
  status: number;
  stdout: string;
  stderr: string;
  /** stdout + stderr (OpenSSL splits its verdicts between the two). */
  out: string;
}

/** Runs the OpenSSL CLI; never throws on a non-zero exit (verdicts are checked by the caller). */
export function openssl(args: string[], input?: Buffer | string): CommandResult {
  const r = spawnSync("openssl", args, { input, maxBuffer: 512 * 1024 * 1024 });
  if (r.error) throw r.error;
  const stdout = r.stdout.toString();
  const stderr = r.stderr.toString();
  return { status: r.status ?? -1, stdout, stderr, out: stdout + stderr };
}

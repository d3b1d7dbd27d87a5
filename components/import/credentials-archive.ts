// The ZIP of credentials handed out once after an import with server-generated keys: a README, the
// CA chain and one folder per device. Entries are stored, not deflated (a few kB of PEM each), and
// marked -rw------- for Unix unzip: they hold private keys.
import { zipSync, strToU8, type Zippable } from "fflate";

export interface IssuedCredential {
  name: string;
  certificatePem: string;
  privateKeyPem: string;
}

const README = (at: Date) =>
  `CertFleet credentials, ${at.toISOString()}\n\nOne folder per device: <name>.crt.pem (certificate), <name>.key.pem (private key, PKCS#8).\nca-chain.pem: issuing CA then root; give it to devices and brokers as the trust chain.\n\nCertFleet does not keep the private keys. Store this archive like a password and delete it once the keys are installed.\n`;

/** Unix (APPNOTE 4.4.2.2 "made by" 3) so that unzip applies the mode in the external attributes. */
const PRIVATE_FILE = { level: 0, os: 3, attrs: 0o100600 << 16 } as const;

export function createCredentialsArchive(credentials: IssuedCredential[], chainPem: string, now = new Date()): Uint8Array<ArrayBuffer> {
  const file = (text: string): [Uint8Array, typeof PRIVATE_FILE & { mtime: Date }] => [strToU8(text), { ...PRIVATE_FILE, mtime: now }];
  const entries: Zippable = { "README.txt": file(README(now)), "ca-chain.pem": file(chainPem) };
  for (const c of credentials) {
    entries[`${c.name}/${c.name}.crt.pem`] = file(c.certificatePem);
    entries[`${c.name}/${c.name}.key.pem`] = file(c.privateKeyPem);
  }
  // fflate allocates a plain ArrayBuffer (never a shared one), which is what a Blob wants.
  return zipSync(entries) as Uint8Array<ArrayBuffer>;
}

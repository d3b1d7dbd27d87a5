// The CRL reader broker-sync trusts (lib/pki/crl-reader.ts), fed CRLs that OpenSSL itself made:
// a tiny CA run with `openssl req` / `openssl ca` in a temp dir, its CRLs from `openssl ca -gencrl`
// (v2 with CRL number and reasons, with an Issuing Distribution Point, a delta CRL, a v1 CRL).
// What the reader returns is held to what `openssl crl` prints about the same files.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseCrlInfo, readCrlEntries, verifyCrlSignature, type CrlEntry } from "@/lib/pki/crl-reader";
import { PkiError } from "@/lib/pki/errors";
import { pemToDer } from "@/lib/pki/pem";
import { normalizeSerialHex } from "@/lib/pki/serial";
import { REVOCATION_REASONS } from "@/lib/pki/revocation-reasons";
import { parseCaChain, verifyCrlSet } from "@/lib/broker/verify";

const IDP_URIS = ["http://pki.example.test/crl/ca.crl", "http://old.example.test/ca.crl"];
const DAY = 86_400_000;

let dir: string;

function run(args: string[], cwd = dir): string {
  const r = spawnSync("openssl", args, { cwd, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`openssl ${args.join(" ")} failed: ${r.stderr}`);
  return r.stdout;
}

interface OpensslCa {
  dir: string;
  certPem: string;
  certDer: Uint8Array;
  /** `openssl ca -gencrl` with the given crl extensions section (none: no -crlexts) and config file; returns the DER. */
  gencrl(options?: { crlexts?: string; config?: string }): { der: Uint8Array; pem: string; file: string };
}

// A config whose [CA_default] keeps a crlnumber file (so CRLs are v2 with a CRL Number), a second
// one (v1.cnf) without it over its own database: `openssl ca` writes v1 only when there is no CRL
// number, no CRL extension and no entry extension.
function writeConfig(caDir: string, md: string) {
  const common = `[ca]\ndefault_ca = CA_default\n[policy_any]\ncommonName = supplied\n[leaf]\nbasicConstraints = CA:FALSE\n`;
  const ca = (database: string, crlnumber: boolean) =>
    `[CA_default]\ndir = .\ndatabase = $dir/db/${database}\nserial = $dir/db/serial\n${crlnumber ? "crlnumber = $dir/db/crlnumber\n" : ""}` +
    `new_certs_dir = $dir/db\ncertificate = $dir/ca.pem\nprivate_key = $dir/ca.key\ndefault_md = ${md}\ndefault_days = 30\n` +
    `default_crl_days = 7\npolicy = policy_any\nunique_subject = no\n`;
  writeFileSync(
    path.join(caDir, "ca.cnf"),
    common +
      ca("index.txt", true) +
      `[crl_number_only]\nauthorityKeyIdentifier = keyid:always\n` +
      `[crl_idp]\nauthorityKeyIdentifier = keyid:always\nissuingDistributionPoint = critical, @idp\n` +
      `[idp]\nfullname = ${IDP_URIS.map((u) => `URI:${u}`).join(", ")}\n` +
      // OpenSSL has no config syntax of its own for the Delta CRL Indicator; the generic form writes it.
      `[crl_delta]\nauthorityKeyIdentifier = keyid:always\ndeltaCRL = critical, ASN1:INTEGER:4\n` +
      `[crl_unknown_critical]\n1.2.3.4 = critical, ASN1:NULL\n` +
      `[crl_unknown_noncritical]\n1.2.3.4 = ASN1:NULL\n`,
  );
  writeFileSync(path.join(caDir, "v1.cnf"), common + ca("v1-index.txt", false));
}

function makeCa(name: string, subject: string, keyArgs: string[], md: string): OpensslCa {
  const caDir = path.join(dir, name);
  mkdirSync(path.join(caDir, "db"), { recursive: true });
  writeFileSync(path.join(caDir, "db/index.txt"), "");
  writeFileSync(path.join(caDir, "db/v1-index.txt"), "");
  writeFileSync(path.join(caDir, "db/serial"), "7E\n"); // 7E, 7F, 80…: serials 80 and up need a sign pad
  writeFileSync(path.join(caDir, "db/crlnumber"), "2A\n");
  writeConfig(caDir, md);
  run(["req", "-x509", ...keyArgs, "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-subj", subject, "-days", "30", "-addext", "keyUsage=critical,keyCertSign,cRLSign"], caDir);
  const certPem = readFileSync(path.join(caDir, "ca.pem"), "utf8");
  let n = 0;
  return {
    dir: caDir,
    certPem,
    certDer: pemToDer(certPem, "CERTIFICATE"),
    gencrl({ crlexts, config = "ca.cnf" } = {}) {
      const file = `crl-${++n}.pem`;
      run(["ca", "-batch", "-config", config, "-gencrl", ...(crlexts ? ["-crlexts", crlexts] : []), "-out", file], caDir);
      const pem = readFileSync(path.join(caDir, file), "utf8");
      return { der: pemToDer(pem, "X509 CRL"), pem, file };
    },
  };
}

function issueAndRevoke(ca: OpensslCa, leaf: string, revokeArgs: string[], config = "ca.cnf") {
  run(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${leaf}.key`, "-out", `${leaf}.csr`, "-subj", `/CN=${leaf}`], ca.dir);
  run(["ca", "-batch", "-config", "ca.cnf", "-extensions", "leaf", "-in", `${leaf}.csr`, "-out", `${leaf}.pem`], ca.dir);
  run(["ca", "-batch", "-config", config, "-revoke", `${leaf}.pem`, ...revokeArgs], ca.dir);
}

/** What `openssl crl -text` says of each entry: serial (CertFleet form), revocation time, reason. */
function opensslEntries(ca: OpensslCa, file: string): CrlEntry[] {
  const text = run(["crl", "-in", file, "-noout", "-text"], ca.dir);
  const reasonCodes: Record<string, number> = {
    "Key Compromise": REVOCATION_REASONS.keyCompromise,
    Superseded: REVOCATION_REASONS.superseded,
    "Certificate Hold": REVOCATION_REASONS.certificateHold,
    "Cessation Of Operation": REVOCATION_REASONS.cessationOfOperation,
  };
  return text
    .split(/\n\s+Serial Number: /)
    .slice(1)
    .map((block) => {
      const serial = block.split("\n")[0].trim();
      const date = /Revocation Date: (.+ GMT)/.exec(block)![1];
      const reason = /CRL Reason Code:\s*\n\s+(.+)/.exec(block)?.[1].trim();
      const entry: CrlEntry = { serialHex: normalizeSerialHex(serial), revokedAt: new Date(date) };
      if (reason !== undefined) entry.reason = reasonCodes[reason] as CrlEntry["reason"];
      return entry;
    });
}

function opensslDates(ca: OpensslCa, file: string) {
  const out = run(["crl", "-in", file, "-noout", "-lastupdate", "-nextupdate"], ca.dir);
  return { thisUpdate: new Date(/lastUpdate=(.+)/.exec(out)![1]), nextUpdate: new Date(/nextUpdate=(.+)/.exec(out)![1]) };
}

const caught = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
};

let ec: OpensslCa;
let rsa: OpensslCa;
/** Same subject as `ec`, another key: its CRLs name `ec` as issuer but are not `ec`'s. */
let impostor: OpensslCa;
let other: OpensslCa;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "certfleet-crl-reader-"));
  const p256 = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"];
  ec = makeCa("ec", "/CN=OpenSSL Test CA/O=CertFleet Tests", p256, "sha256");
  rsa = makeCa("rsa", "/CN=OpenSSL RSA CA", ["-newkey", "rsa:2048"], "sha256");
  impostor = makeCa("impostor", "/CN=OpenSSL Test CA/O=CertFleet Tests", p256, "sha256");
  other = makeCa("other", "/CN=Another CA", p256, "sha256");
  issueAndRevoke(ec, "leaf1", ["-crl_reason", "keyCompromise"]);
  issueAndRevoke(ec, "leaf2", ["-crl_reason", "superseded"]);
  issueAndRevoke(ec, "leaf3", []);
  issueAndRevoke(ec, "leaf4", ["-crl_hold", "holdInstructionReject"]);
  issueAndRevoke(ec, "leaf5", ["-crl_compromise", "20260101000000Z"]);
  issueAndRevoke(rsa, "leaf1", ["-crl_reason", "cessationOfOperation"]);
  // v1: a revocation without a reason, in the database of the config without a CRL number.
  issueAndRevoke(ec, "leaf6", [], "v1.cnf");
}, 120_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("parseCrlInfo and readCrlEntries on OpenSSL's CRLs", () => {
  it("reads a v2 CRL: CRL number, dates, AKI, revoked serials and reasons as openssl crl prints them", () => {
    const crl = ec.gencrl({ crlexts: "crl_number_only" });
    const info = parseCrlInfo(crl.der);
    expect(info.version).toBe(2);
    expect(run(["crl", "-in", crl.file, "-noout", "-crlnumber"], ec.dir).trim()).toBe("crlNumber=0x2A");
    expect(info.number).toBe(0x2an);
    const dates = opensslDates(ec, crl.file);
    expect(info.thisUpdate).toEqual(dates.thisUpdate);
    expect(info.nextUpdate).toEqual(dates.nextUpdate);
    expect(info.nextUpdate!.getTime() - info.thisUpdate.getTime()).toBe(7 * DAY);
    expect(info.signatureOid).toBe("1.2.840.10045.4.3.2");
    expect(info.idpUris).toEqual([]);
    const ski = run(["x509", "-in", "ca.pem", "-noout", "-ext", "subjectKeyIdentifier"], ec.dir).split("\n")[1].trim();
    expect(info.authorityKeyIdHex).toBe(ski.replace(/:/g, "").toLowerCase());

    const entries = [...readCrlEntries(crl.der)];
    expect(info.count).toBe(5);
    expect(entries).toEqual(opensslEntries(ec, crl.file));
    // And spelled out, so a shared misreading of both sides cannot pass: 80 and up carry the 00 pad.
    expect(entries.map((e) => e.serialHex)).toEqual(["7e", "7f", "0080", "0081", "0082"]);
    expect(entries.map((e) => e.reason)).toEqual([
      REVOCATION_REASONS.keyCompromise,
      REVOCATION_REASONS.superseded,
      undefined,
      REVOCATION_REASONS.certificateHold, // with a non-critical holdInstructionCode beside it
      REVOCATION_REASONS.keyCompromise, // with a non-critical invalidityDate beside it
    ]);
  });

  it("reads the Issuing Distribution Point URIs", () => {
    const crl = ec.gencrl({ crlexts: "crl_idp" });
    const text = run(["crl", "-in", crl.file, "-noout", "-text"], ec.dir);
    for (const uri of IDP_URIS) expect(text).toContain(`URI:${uri}`);
    const info = parseCrlInfo(crl.der);
    expect(info.idpUris).toEqual(IDP_URIS);
    expect(info.number).toBe(0x2bn); // openssl ca counts up per CRL
    expect(info.count).toBe(5);
  });

  it("reads a v1 CRL: no version field, no extensions, no number", () => {
    const crl = ec.gencrl({ config: "v1.cnf" });
    expect(run(["crl", "-in", crl.file, "-noout", "-text"], ec.dir)).toContain("Version 1 (0x0)");
    const info = parseCrlInfo(crl.der);
    expect(info.version).toBe(1);
    expect(info.number).toBeUndefined();
    expect(info.authorityKeyIdHex).toBeUndefined();
    expect(info.idpUris).toEqual([]);
    expect(info.nextUpdate).toEqual(opensslDates(ec, crl.file).nextUpdate);
    const entries = [...readCrlEntries(crl.der)];
    expect(entries).toEqual(opensslEntries(ec, crl.file));
    expect(entries).toHaveLength(1);
    expect(entries[0].serialHex).toBe("0083");
    expect(entries[0].reason).toBeUndefined();
  });

  it("refuses a delta CRL clearly, naming its base, instead of reading it as a complete CRL", () => {
    const crl = ec.gencrl({ crlexts: "crl_delta" });
    expect(run(["crl", "-in", crl.file, "-noout", "-text"], ec.dir)).toContain("Delta CRL Indicator: critical");
    const error = caught(() => parseCrlInfo(crl.der));
    expect(error).toBeInstanceOf(PkiError);
    expect((error as PkiError).code).toBe("CRL_UNSUPPORTED");
    expect((error as Error).message).toBe("delta CRL (base CRL number 4): only complete CRLs are read");
    expect(() => [...readCrlEntries(crl.der)]).toThrow(/delta CRL/);
  });

  it("refuses an unknown critical CRL extension and ignores an unknown non-critical one", () => {
    const critical = ec.gencrl({ crlexts: "crl_unknown_critical" });
    expect(() => parseCrlInfo(critical.der)).toThrow("unsupported critical CRL extension 1.2.3.4");
    const plain = ec.gencrl({ crlexts: "crl_unknown_noncritical" });
    expect(parseCrlInfo(plain.der).count).toBe(5);
  });

  it("refuses a CRL whose outer signature algorithm differs from the signed one", () => {
    const der = ec.gencrl({ crlexts: "crl_number_only" }).der.slice();
    // The outer AlgorithmIdentifier is the last one: ecdsa-with-SHA256 (…04 03 02) → SHA384 (…04 03 03).
    const oid = Buffer.from("2a8648ce3d040302", "hex");
    const at = Buffer.from(der).lastIndexOf(oid);
    expect(at).toBeGreaterThan(Buffer.from(der).indexOf(oid));
    der[at + oid.length - 1] = 0x03;
    expect(() => parseCrlInfo(der)).toThrow(/signature algorithm inside the CRL differs/);
  });
});

describe("verifyCrlSignature on OpenSSL's CRLs", () => {
  it("passes for the CA that signed (EC and RSA) and fails for another key, another CA or a changed byte", async () => {
    const ecCrl = ec.gencrl({ crlexts: "crl_idp" });
    const v1 = ec.gencrl({ config: "v1.cnf" });
    const rsaCrl = rsa.gencrl({ crlexts: "crl_number_only" });
    for (const [ca, file] of [[ec, ecCrl.file], [ec, v1.file], [rsa, rsaCrl.file]] as const) {
      expect(spawnSync("openssl", ["crl", "-in", file, "-CAfile", "ca.pem", "-noout"], { cwd: ca.dir, encoding: "utf8" }).stderr).toContain("verify OK");
    }
    expect(await verifyCrlSignature(ecCrl.der, ec.certDer)).toBe(true);
    expect(await verifyCrlSignature(v1.der, ec.certDer)).toBe(true);
    expect(await verifyCrlSignature(rsaCrl.der, rsa.certDer)).toBe(true);
    expect(parseCrlInfo(rsaCrl.der).signatureOid).toBe("1.2.840.113549.1.1.11");
    expect([...readCrlEntries(rsaCrl.der)].map((e) => e.reason)).toEqual([REVOCATION_REASONS.cessationOfOperation]);

    // Same issuer name, another key: the name matches, the signature must not.
    expect(await verifyCrlSignature(ecCrl.der, impostor.certDer)).toBe(false);
    expect(await verifyCrlSignature(v1.der, impostor.certDer)).toBe(false);
    expect(await verifyCrlSignature(ecCrl.der, other.certDer)).toBe(false);
    expect(await verifyCrlSignature(ecCrl.der, rsa.certDer)).toBe(false);
    expect(await verifyCrlSignature(rsaCrl.der, ec.certDer)).toBe(false);
    const impostorCrl = impostor.gencrl({ crlexts: "crl_number_only" });
    expect(await verifyCrlSignature(impostorCrl.der, ec.certDer)).toBe(false);
    expect(await verifyCrlSignature(impostorCrl.der, impostor.certDer)).toBe(true);

    const tampered = ecCrl.der.slice();
    tampered[tampered.length - 40] ^= 1; // inside the signature
    expect(await verifyCrlSignature(tampered, ec.certDer)).toBe(false);
    const renumbered = ecCrl.der.slice();
    // extnID 2.5.29.20 (CRL Number), extnValue OCTET STRING { INTEGER, length 1 }: then the number.
    const number = Buffer.from(renumbered).indexOf(Buffer.from("0603551d1404030201", "hex"));
    expect(number).toBeGreaterThan(0);
    renumbered[number + 9] ^= 1;
    expect(parseCrlInfo(renumbered).number).toBe(parseCrlInfo(ecCrl.der).number! ^ 1n);
    expect(await verifyCrlSignature(renumbered, ec.certDer)).toBe(false);
    expect(await verifyCrlSignature(ecCrl.der.subarray(0, ecCrl.der.length - 1), ec.certDer)).toBe(false);
  });
});

describe("broker-sync's CRL check (lib/broker/verify.ts) on OpenSSL's CRLs", () => {
  const options = (now: Date) => ({ now, maxClockSkewMs: 5 * 60_000, installedNumbers: {} });

  it("installs a complete CRL and refuses a delta CRL, an impostor's CRL and a v1 CRL (no number)", async () => {
    const now = new Date();
    const chain = await parseCaChain(ec.certPem, now);
    const full = ec.gencrl({ crlexts: "crl_idp" });
    const verified = await verifyCrlSet(full.pem, chain, options(now));
    expect(verified.crls.map((c) => c.info.number)).toEqual([parseCrlInfo(full.der).number]);

    const delta = ec.gencrl({ crlexts: "crl_delta" });
    await expect(verifyCrlSet(delta.pem, chain, options(now))).rejects.toThrow(/delta CRL \(base CRL number 4\)/);
    await expect(verifyCrlSet(full.pem + delta.pem, chain, options(now))).rejects.toThrow(/delta CRL/);

    const forged = impostor.gencrl({ crlexts: "crl_idp" });
    await expect(verifyCrlSet(forged.pem, chain, options(now))).rejects.toThrow(/does not verify with the CA that it names/);

    const v1 = ec.gencrl({ config: "v1.cnf" });
    await expect(verifyCrlSet(v1.pem, chain, options(now))).rejects.toThrow(/has no CRL number/);
  });
});

// opensslNameHash against the OpenSSL CLI: `openssl x509 -hash` for awkward subject names, and the
// `<hash>.r0` name `openssl rehash` gives a CRL.
import { afterAll, describe, expect, it } from "vitest";
import { mkdirSync, readdirSync } from "node:fs";

const ensureDir = (dir: string) => mkdirSync(dir, { recursive: true });
import { opensslNameHash } from "@/lib/pki/name-hash";
import { parseCertificateParts } from "@/lib/pki/der";
import { pemToDer } from "@/lib/pki/pem";
import { parseCrlInfo } from "@/lib/pki/crl-reader";
import { Workdir } from "../../helpers/openssl";

const work = new Workdir();
afterAll(() => work.dispose());

const SUBJECTS = [
  "/CN=CertFleet Issuing CA 1/O=CertFleet",
  "/CN=  Mixed   CASE\tName  /O=Acme\\, Inc./C=DE",
  "/CN=device-1+OU=Sensors/O=x",
  "/CN=Grüße ÄÖÜ Straße/O=Ünïcödé",
  "/emailAddress=Ops@Example.COM/CN=mail",
  "/DC=com/DC=Example/CN=DC name",
];

describe("opensslNameHash", () => {
  it.each(SUBJECTS.map((s, i) => [i, s] as const))("matches openssl x509 -hash for subject %i (%s)", (i, subject) => {
    work.ok(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-utf8", "-keyout", `k${i}.pem`, "-out", `c${i}.pem`, "-subj", subject, "-days", "1"]);
    const expected = work.ok(["x509", "-in", `c${i}.pem`, "-noout", "-hash"]).trim();
    const der = pemToDer(work.read(`c${i}.pem`).toString(), "CERTIFICATE");
    expect(opensslNameHash(parseCertificateParts(der).subjectDer)).toBe(expected);
  });

  it("names a CRL as openssl rehash does", () => {
    work.ok(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=Rehash  Test CA/O=CertFleet", "-days", "1"]);
    work.file("index.txt", "");
    ensureDir(work.path("hash"));
    work.file("crlnumber", "01\n");
    work.file(
      "ca.cnf",
      ["[ca]", "default_ca = d", "[d]", `database = ${work.path("index.txt")}`, `crlnumber = ${work.path("crlnumber")}`, "default_md = sha256", "default_crl_days = 1", ""].join("\n"),
    );
    work.ok(["ca", "-config", "ca.cnf", "-gencrl", "-keyfile", "ca.key", "-cert", "ca.pem", "-out", "hash/crl.pem"]);
    work.ok(["rehash", work.path("hash")]);
    const names = readdirSync(work.path("hash")).filter((n) => /\.r\d+$/.test(n));
    const issuerDer = parseCrlInfo(pemToDer(work.read("hash/crl.pem").toString(), "X509 CRL")).issuerDer;
    expect(names).toEqual([`${opensslNameHash(issuerDer)}.r0`]);
  });
});

// The device page's EST commands: the re-enrollment subject handed to `openssl req -subj` must come
// out as the certificate's own subject (RFC 7030 4.2.2), escapes included — checked with OpenSSL.
import { afterAll, describe, expect, it } from "vitest";
import { Workdir } from "../../helpers/openssl";
import { opensslSubject } from "@/components/est/est-commands";
import { formatSubjectName } from "@/lib/pki/tbs";

describe("opensslSubject", () => {
  const work = new Workdir();
  afterAll(() => work.dispose());

  it("turns the stored subject into an openssl -subj that names the same subject", () => {
    for (const [organization, commonName] of [
      ["CertFleet", "dev-1"],
      ["Acme, Inc.", "sensor_2.b"],
      ["A/B + C\\D", "x"],
    ]) {
      const stored = formatSubjectName({ organization, commonName });
      work.ok(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "k.pem", "-subj", opensslSubject(stored), "-utf8", "-out", "r.pem"]);
      const printed = work.ok(["req", "-in", "r.pem", "-noout", "-subject", "-nameopt", "RFC2253"]).trim();
      // RFC 2253 prints the last RDN first.
      expect(printed).toBe(`subject=CN=${commonName},O=${organization.replace(/([,+"\\<>;])/g, "\\$1")}`);
    }
  });
});

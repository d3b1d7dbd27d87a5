// The device page's issue form: blank fields fall back to defaults, and each mode asks for what it needs.
import { describe, expect, it } from "vitest";
import { ZIssueCertificateForm } from "@/lib/validation/certificates";

const paths = (r: { success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } }) => (r.error?.issues ?? []).map((i) => `${i.path.join(".")}: ${i.message}`);

describe("ZIssueCertificateForm", () => {
  it("turns a pasted CSR into an issue request, blank validity meaning the default", () => {
    const r = ZIssueCertificateForm.safeParse({ deviceId: "dev_1", mode: "csr", csr: "-----BEGIN CERTIFICATE REQUEST-----", validityDays: " " });
    expect(r.success && r.data).toEqual({ deviceId: "dev_1", request: { csr: "-----BEGIN CERTIFICATE REQUEST-----", validityDays: undefined } });
  });

  it("turns a generate request into generateKey with defaults, and a number of days from its string", () => {
    const r = ZIssueCertificateForm.safeParse({ deviceId: "dev_1", mode: "generate", algorithm: "", format: "", password: "ignored", validityDays: "30" });
    expect(r.success && r.data).toEqual({ deviceId: "dev_1", request: { generateKey: { algorithm: "EC-P256" }, format: "pem", password: undefined, validityDays: 30 } });
  });

  it("names the missing CSR, the missing PKCS#12 password, a bad number and a bad id", () => {
    expect(paths(ZIssueCertificateForm.safeParse({ deviceId: "dev_1", mode: "csr", csr: "" }))).toEqual(["csr: Paste a CSR (PEM) or choose a file"]);
    expect(paths(ZIssueCertificateForm.safeParse({ deviceId: "dev_1", mode: "generate", format: "pkcs12", password: "" }))).toEqual(["password: A PKCS#12 file needs a password (at least 8 characters)"]);
    expect(paths(ZIssueCertificateForm.safeParse({ deviceId: "dev_1", mode: "csr", csr: "x", validityDays: "soon" }))).toEqual(["validityDays: Enter a number of days"]);
    expect(paths(ZIssueCertificateForm.safeParse({ deviceId: "../x", mode: "csr", csr: "x" }))).toEqual(["deviceId: Not a valid id"]);
  });
});

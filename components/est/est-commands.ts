// The client commands the device page offers for EST: strongSwan `pki --est` and curl + OpenSSL,
// filled in with the device's EST URL, CA label and chain URLs. The same commands as README's EST
// section; tests/integration/est-ui.test.ts runs the curl ones as shown.

export interface EstTarget {
  /** https://host:port — strongSwan appends /.well-known/est/<operation> itself. */
  origin: string;
  /** …/.well-known/est/<label>/ (RFC 7030 3.2.2). */
  url: string;
  /** The issuing CA's slug: the EST label. */
  label: string;
  /** Whether the label is the default CA (strongSwan 5.9 cannot send a label). */
  isDefault: boolean;
  /** The issuing CA's chain (issuing, root) and each certificate alone, over the public URL. */
  chainUrl: string;
  issuingPemUrl: string;
  rootPemUrl: string;
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

const CSR = (key: string, subject: string, out: string) =>
  `openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ${key} -subj ${q(subject)} -outform DER -out ${out}`;

/** curl + OpenSSL: first enrollment with the one-time secret (HTTP Basic). */
export function curlEnrollCommand(t: EstTarget, deviceName: string, username: string, password: string): string {
  return [
    `curl -fsS -o chain.pem ${t.chainUrl}`,
    CSR("device.key", `/CN=${deviceName}`, "device.csr.der"),
    "openssl base64 -A -in device.csr.der > device.csr.b64",
    `curl -fsS --cacert chain.pem --user ${q(`${username}:${password}`)} -H 'content-type: application/pkcs10' --data-binary @device.csr.b64 \\`,
    `    ${t.url}simpleenroll | openssl base64 -d -A | openssl pkcs7 -inform DER -print_certs -out device.pem`,
  ].join("\n");
}

/** strongSwan `pki --est`: first enrollment with the one-time secret. */
export function strongswanEnrollCommand(t: EstTarget, deviceName: string, username: string, password: string): string {
  return [
    `curl -fsS -o root.pem ${t.rootPemUrl}`,
    `curl -fsS -o issuing.pem ${t.issuingPemUrl}`,
    CSR("device.key", `/CN=${deviceName}`, "device.csr.der"),
    `pki --est --url ${t.origin} --cacert root.pem --cacert issuing.pem --outform pem \\`,
    `    --in device.csr.der --userpass ${q(`${username}:${password}`)} > device.pem`,
  ].join("\n");
}

/**
 * Re-enrollment: a new key, the current certificate's subject (RFC 7030 4.2.2), the current
 * pair (device.pem, device.key) as TLS client identity. The new pair replaces it.
 */
export function curlReenrollCommand(t: EstTarget, subject: string): string {
  return [
    CSR("next.key", subject, "next.csr.der"),
    "openssl base64 -A -in next.csr.der > next.csr.b64",
    `curl -fsS --cacert chain.pem --cert device.pem --key device.key -H 'content-type: application/pkcs10' --data-binary @next.csr.b64 \\`,
    `    ${t.url}simplereenroll | openssl base64 -d -A | openssl pkcs7 -inform DER -print_certs -out next.pem`,
    "mv next.pem device.pem && mv next.key device.key",
  ].join("\n");
}

export function strongswanReenrollCommand(t: EstTarget, subject: string): string {
  return [
    CSR("next.key", subject, "next.csr.der"),
    `pki --est --url ${t.origin} --cacert root.pem --cacert issuing.pem --outform pem \\`,
    "    --in next.csr.der --cert device.pem --key device.key > next.pem",
    "mv next.pem device.pem && mv next.key device.key",
  ].join("\n");
}

/**
 * The stored subject string ("O=Acme\, Inc., CN=dev-1", lib/pki/tbs.ts formatSubjectName) as
 * openssl's -subj wants it ("/O=Acme, Inc./CN=dev-1": "/", "+" and "\" escaped instead).
 */
export function opensslSubject(subject: string): string {
  return subject
    .split(/(?<!\\), /)
    .map((rdn) => {
      const eq = rdn.indexOf("=");
      const value = rdn.slice(eq + 1).replace(/\\(.)/g, "$1");
      return `/${rdn.slice(0, eq)}=${value.replace(/[/+\\]/g, "\\$&")}`;
    })
    .join("");
}

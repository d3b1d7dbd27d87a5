// Human wording for audit actions (the stored action names stay machine-readable).
const LABELS: Record<string, string> = {
  "device.create": "Created device",
  "device.update": "Updated device",
  "device.decommission": "Decommissioned device",
  "device.import": "Imported devices",
  "certificate.issue": "Issued certificate",
  "certificate.renew": "Renewed certificate",
  "certificate.revoke": "Revoked certificate",
  "certificate.revoke-held": "Made a hold permanent",
  "certificate.unhold": "Released certificate hold",
  "psk.create": "Created PSK",
  "psk.rotate": "Rotated PSK",
  "psk.revoke": "Revoked PSK",
  "psk.reveal": "Revealed PSK",
  "user.create": "Created user",
  "user.update": "Updated user",
  "token.create": "Created API token",
  "token.revoke": "Revoked API token",
  "ca.create": "Created CA",
  "ocsp.responder-issued": "Issued OCSP responder",
  "tls.server-certificate": "Issued server certificate",
  "demo.seed": "Seeded demo fleet",
  "ca.est-settings": "Changed EST settings",
  "enrollment.secret-create": "Created enrollment secret",
  "est.refuse": "Refused EST request",
  "bootstrap-ca.register": "Registered bootstrap CA",
  "bootstrap-ca.enable": "Enabled bootstrap CA",
  "bootstrap-ca.disable": "Disabled bootstrap CA",
  "bootstrap-ca.crl": "Attached bootstrap CA CRL",
  "bootstrap-ca.delete": "Removed bootstrap CA",
};

export function auditLabel(action: string): string {
  return LABELS[action] ?? action;
}

export const AUDIT_ACTION_GROUPS = [
  { value: "device.", label: "Devices" },
  { value: "certificate.", label: "Certificates" },
  { value: "psk.", label: "PSKs" },
  { value: "user.", label: "Users" },
  { value: "token.", label: "API tokens" },
  { value: "ca.", label: "CAs" },
  { value: "ocsp.", label: "OCSP responders" },
  { value: "tls.", label: "Server TLS" },
  { value: "enrollment.", label: "EST secrets" },
  { value: "est.", label: "EST refusals" },
  { value: "bootstrap-ca.", label: "Bootstrap CAs" },
];

export function auditTone(action: string): "red" | "amber" | "green" | "blue" | "neutral" | "violet" {
  if (/revoke|decommission|refuse|delete/.test(action)) return "red";
  if (/reveal/.test(action)) return "violet";
  if (/renew|rotate|unhold/.test(action)) return "blue";
  if (/create|issue|import/.test(action)) return "green";
  return "neutral";
}

/** The subject of an event in a few words: a device name, an email, a slug. */
export function auditSubject(details: Record<string, unknown>, targetName?: string): string | null {
  if (targetName) return targetName;
  for (const key of ["name", "device", "email", "slug"]) {
    const v = details[key];
    if (typeof v === "string" && v) return v;
  }
  return null;
}

export function parseDetails(details: string): Record<string, unknown> {
  try {
    const v = JSON.parse(details);
    return v && typeof v === "object" ? v : {};
  } catch {
    return {};
  }
}

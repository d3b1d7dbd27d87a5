// A filter in words, for confirmations ("all 312 devices matching: expiring within 30 days · tag sensor").
import type { TInventoryFilter } from "@/lib/validation/inventory";

const CERT: Record<string, string> = { valid: "valid certificate", expired: "expired certificate", revoked: "revoked certificate", none: "no certificate" };

export function describeFilter(f: Partial<TInventoryFilter>, caNames: Record<string, string> = {}): string {
  const parts: string[] = [];
  if (f.q) parts.push(`search “${f.q}”`);
  if (f.status) parts.push(`status ${f.status}`);
  if (f.cert) parts.push(CERT[f.cert] ?? f.cert);
  if (f.within) parts.push(`expiring within ${f.within} days`);
  if (f.from || f.to) parts.push(`expiring ${f.from ?? "…"} to ${f.to ?? "…"}`);
  if (f.tag) parts.push(`tag ${f.tag}`);
  if (f.ca) parts.push(`CA ${caNames[f.ca] ?? f.ca}`);
  if (f.psk) parts.push(f.psk === "yes" ? "with PSK" : "without PSK");
  return parts.length ? parts.join(" · ") : "no filter (the whole fleet)";
}

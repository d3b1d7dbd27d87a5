// The names CertFleet's own HTTPS identity answers for. A device or broker certificate for one of
// them would let its holder, with a network position, impersonate CertFleet to broker-sync and to
// browsers that trust CertFleet's CA, so issuance refuses them.
import { isIP } from "node:net";
import { config } from "../config";
import { AppError } from "../errors";
import type { SubjectAltNames } from "../pki";

/** Lower-case DNS names and canonical IP addresses: CERTFLEET_TLS_HOSTS and the public URL's host. */
export function reservedServerNames(): Set<string> {
  const cfg = config();
  const names = new Set<string>();
  for (const host of [...cfg.tlsHosts, hostOf(cfg.publicUrl)]) if (host) names.add(canonicalName(host));
  return names;
}

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).hostname.replace(/^\[(.*)\]$/, "$1");
  } catch {
    return undefined;
  }
}

/** One spelling per name: DNS names lower case without a trailing dot, IPv6 compressed (URL parser). */
function canonicalName(name: string): string {
  const bare = name.trim().replace(/^\[(.*)\]$/, "$1");
  if (isIP(bare) === 6) return new URL(`http://[${bare}]/`).hostname.slice(1, -1);
  return bare.toLowerCase().replace(/\.$/, "");
}

/** Whether a certificate name (a DNS SAN that may be a "*." wildcard, an IP SAN or a CN) covers `reserved`. */
function covers(name: string, reserved: string): boolean {
  const n = canonicalName(name);
  if (n === reserved) return true;
  // "*.example.com" matches exactly one more label, as TLS clients apply it (RFC 6125 6.4.3).
  if (n.startsWith("*.") && isIP(reserved) === 0) {
    const dot = reserved.indexOf(".");
    return dot > 0 && reserved.slice(dot + 1) === n.slice(2);
  }
  return false;
}

/**
 * Why a device certificate with this common name (the device name) and these subject alternative
 * names must not be issued — one of them covers one of CertFleet's own server names — or null.
 */
export function reservedNameProblem(commonName: string, sans: SubjectAltNames | undefined): string | null {
  const reserved = reservedServerNames();
  const candidates = [
    { what: "common name (the device name)", value: commonName },
    ...(sans?.dns ?? []).map((value) => ({ what: "DNS name", value })),
    ...(sans?.ip ?? []).map((value) => ({ what: "IP address", value })),
  ];
  for (const { what, value } of candidates) {
    for (const name of reserved) {
      if (covers(value, name)) {
        return (
          `The ${what} "${value}" is one of CertFleet's own server names (${name}, from CERTFLEET_TLS_HOSTS or CERTFLEET_PUBLIC_URL): ` +
          "a certificate for it would let its holder impersonate CertFleet, so it is not issued"
        );
      }
    }
  }
  return null;
}

/** Throws FORBIDDEN with reservedNameProblem's message. */
export function refuseReservedNames(commonName: string, sans: SubjectAltNames | undefined): void {
  const problem = reservedNameProblem(commonName, sans);
  if (problem) throw new AppError("FORBIDDEN", problem);
}

// Response headers the custom server sets before a handler runs. Pages, server actions and
// /api/v1 get the full set; the broker endpoints answer programs (brokers, OpenSSL, curl), not
// browsers, so they keep their protocol-shaped responses and get only nosniff.
import type { IncomingMessage } from "node:http";
import type { TLSSocket } from "node:tls";

/*
 * script-src needs 'unsafe-inline': the App Router streams its flight data in inline <script>
 * tags, and a nonce would have to come from the proxy on every request (and make every page
 * dynamic). Everything else is strict: no other origin for anything, no plugins, no <base>
 * rewriting, forms only to ourselves, and no framing (frame-ancestors, plus X-Frame-Options for
 * browsers without CSP 2). `next dev` also evaluates code for its fast refresh.
 */
function contentSecurityPolicy(dev: boolean): string {
  return [
    "default-src 'self'",
    `script-src 'self' 'unsafe-inline'${dev ? " 'unsafe-eval'" : ""}`,
    // React writes style="" attributes (progress bars, charts).
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}

export const BROKER_HEADERS: ReadonlyArray<[string, string]> = [["x-content-type-options", "nosniff"]];

export function appHeaders(options: { https: boolean; dev: boolean }): ReadonlyArray<[string, string]> {
  return [
    ["content-security-policy", contentSecurityPolicy(options.dev)],
    ["x-frame-options", "DENY"],
    ["x-content-type-options", "nosniff"],
    ["referrer-policy", "same-origin"],
    ["permissions-policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()"],
    ["cross-origin-opener-policy", "same-origin"],
    // Browsers ignore HSTS over plain HTTP anyway; sending it only on HTTPS keeps that explicit.
    // No includeSubDomains: the dashboard's host name may be shared with other services.
    ...(options.https ? [["strict-transport-security", "max-age=31536000"] as [string, string]] : []),
  ];
}

/** HTTPS to us, or to the outermost of our trusted proxies (its X-Forwarded-Proto, right-most entry). */
export function arrivedOverHttps(req: IncomingMessage, trustedProxies: number): boolean {
  if ((req.socket as TLSSocket).encrypted) return true;
  const proto = req.headers["x-forwarded-proto"];
  if (trustedProxies <= 0 || typeof proto !== "string") return false;
  return proto.split(",").at(-1)?.trim().toLowerCase() === "https";
}

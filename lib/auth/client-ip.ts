// The client address that login throttling keys on. The custom server derives it once per request
// and hands it to Next in a header of its own, overwriting whatever the client sent under that name.
import type { IncomingMessage } from "node:http";

export const CLIENT_IP_HEADER = "x-certfleet-client-ip";

/**
 * The socket's address, or — behind `trustedProxies` proxies of our own — the address the
 * outermost of them saw. Each proxy appends the address it received from to X-Forwarded-For,
 * so only the last `trustedProxies` entries were written by someone we trust; everything left
 * of them is whatever the client put there. Too few entries: the request skipped a proxy, so
 * fall back to the socket.
 */
export function clientAddress(forwardedFor: string | string[] | undefined, socketAddress: string | undefined, trustedProxies: number): string {
  const socket = socketAddress ?? "unknown";
  if (trustedProxies <= 0 || !forwardedFor) return socket;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(",") : forwardedFor).split(",").map((h) => h.trim()).filter(Boolean);
  return hops.length >= trustedProxies ? hops[hops.length - trustedProxies] : socket;
}

/** Sets CLIENT_IP_HEADER on the request for Next (login throttling reads it there). */
export function tagClientAddress(req: IncomingMessage, trustedProxies: number) {
  req.headers[CLIENT_IP_HEADER] = clientAddress(req.headers["x-forwarded-for"], req.socket.remoteAddress, trustedProxies);
}

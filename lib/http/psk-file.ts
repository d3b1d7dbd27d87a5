// GET /api/v1/broker/psk-file?format=mosquitto|emqx — the brokers' PSK file, as a plain Node
// handler that the custom server dispatches before Next (brokers poll it; see DESIGN "Serving").
// Bearer token with broker:read (role broker or admin); strong ETag + If-None-Match → 304, so
// broker-sync downloads and reinstalls only changes. The body holds live keys: never log it.
import { AppError } from "../errors";
import { toAppError } from "../error-mapping";
import { bearerActor, sendProblem } from "./problem";
import { getPskFile } from "../services/psk";
import { ZPskFileQuery } from "../validation/psk";
import type { BrokerHandler } from "./types";

export const PSK_FILE_PATH = "/api/v1/broker/psk-file";

/** RFC 9110 13.1.2: If-None-Match uses the weak comparison; "*" matches any current representation. */
function matchesIfNoneMatch(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  const opaque = (tag: string) => tag.trim().replace(/^W\//, "");
  return header.split(",").some((tag) => tag.trim() === "*" || opaque(tag) === opaque(etag));
}

export const pskFileHandler: BrokerHandler = async (req, res, url) => {
  const instance = url.pathname;
  try {
    if (req.method !== "GET" && req.method !== "HEAD") {
      sendProblem(res, instance, new AppError("BAD_REQUEST", "Use GET or HEAD"), 405, "Method not allowed", { allow: "GET, HEAD" });
      return;
    }
    const actor = await bearerActor(req, "broker:read", "a broker API token");

    const parsed = ZPskFileQuery.safeParse(Object.fromEntries(url.searchParams));
    if (!parsed.success) {
      const errors = parsed.error.issues.map((i) => ({ path: ["query", ...i.path].join("."), message: i.message }));
      throw new AppError("VALIDATION", `Invalid query: ${errors.map((e) => `${e.path} ${e.message}`).join("; ")}`, errors);
    }

    const file = await getPskFile(actor, parsed.data.format);
    const headers: Record<string, string> = { etag: file.etag, "cache-control": "no-store", vary: "authorization" };
    if (matchesIfNoneMatch(req.headers["if-none-match"], file.etag)) {
      res.writeHead(304, headers).end();
      return;
    }
    res.writeHead(200, { ...headers, "content-type": "text/plain; charset=utf-8", "content-length": String(file.body.length) });
    res.end(req.method === "HEAD" ? undefined : file.body);
  } catch (e) {
    // toAppError logs unexpected errors; nothing here carries a key (sealed-secret errors name no value).
    const err = toAppError(e);
    if (!res.headersSent) sendProblem(res, instance, err);
    else res.destroy();
  }
};

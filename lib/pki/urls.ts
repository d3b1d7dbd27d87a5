// URLs written into certificates (CDP, AIA). They are permanent once signed, so check them first.
import { PkiError } from "./errors";

/** Returns `url` if it is an absolute http(s) URL; relying parties fetch CRLs/OCSP over plain HTTP. */
export function assertHttpUrl(url: string, what: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new PkiError("INVALID_INPUT", `${what} URL "${url}" is not an absolute URL (set CERTFLEET_PUBLIC_URL).`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new PkiError("INVALID_INPUT", `${what} URL "${url}" must use http or https.`);
  }
  return url;
}

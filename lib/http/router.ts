// Which requests the custom server answers itself, before Next: the broker endpoints and EST.
import type { BrokerHandler } from "./types";
import { pkiHandler } from "./pki";
export { serveCachedOcsp } from "./pki";
import { pskFileHandler, PSK_FILE_PATH } from "./psk-file";
import { estHandler, EST_PREFIX } from "./est";

export function brokerRoute(pathname: string): BrokerHandler | null {
  if (pathname.startsWith("/pki/")) return pkiHandler;
  if (pathname === PSK_FILE_PATH) return pskFileHandler;
  if (pathname.startsWith(EST_PREFIX)) return estHandler;
  return null;
}

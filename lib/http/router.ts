// Which requests the custom server answers itself, before Next: the broker endpoints.
import type { BrokerHandler } from "./types";
import { pkiHandler } from "./pki";

export function brokerRoute(pathname: string): BrokerHandler | null {
  if (pathname.startsWith("/pki/")) return pkiHandler;
  return null;
}

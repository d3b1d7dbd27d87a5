import type { IncomingMessage, ServerResponse } from "node:http";

/** A plain Node handler for a broker endpoint (no Next.js in the path: these must be fast). */
export type BrokerHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>;

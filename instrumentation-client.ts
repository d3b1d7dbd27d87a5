// Runs in the browser before any page code. zod compiles object parsers with `new Function` when
// eval is allowed, and probes for that; the dashboard's CSP has no 'unsafe-eval'
// (lib/http/security-headers.ts), and Chromium reports even the caught probe as a violation.
// Must run before the first schema is built: lib/validation builds them when its modules load.
import { z } from "zod";

z.config({ jitless: true });

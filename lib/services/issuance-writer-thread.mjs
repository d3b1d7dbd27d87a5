// Entry of the issuance writer thread (issuance-writer-thread.ts): its source is TypeScript, loaded
// through tsx like the server itself (on Node 20 a worker's execArgv --import does not apply to
// the worker's entry module).
import { register } from "tsx/esm/api";

register();
await import("./issuance-writer-thread.ts");

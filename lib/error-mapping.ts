// Turns anything thrown below the entry points into an AppError. Unknown errors become a generic
// INTERNAL error (logged server-side, never shown: no stack traces or SQL reach a client).
import { AppError, type ErrorCode } from "./errors";

const PKI_CODES: Record<string, ErrorCode> = {
  CSR_MALFORMED: "UNPROCESSABLE",
  CSR_SIGNATURE_INVALID: "UNPROCESSABLE",
  KEY_POLICY: "UNPROCESSABLE",
  CSR_FORBIDDEN_EXTENSION: "UNPROCESSABLE",
  INVALID_INPUT: "VALIDATION",
  MASTER_KEY_MISMATCH: "MASTER_KEY_MISMATCH",
  // A CA key on a PKCS#11 token that cannot be used now: the request may succeed later.
  TOKEN_UNAVAILABLE: "TOKEN_UNAVAILABLE",
  TOKEN_PIN_INCORRECT: "TOKEN_UNAVAILABLE",
  KEY_NOT_FOUND: "TOKEN_UNAVAILABLE",
};

export function toAppError(e: unknown): AppError {
  if (e instanceof AppError) return e;
  const err = e as { name?: string; code?: unknown; message?: string };
  if (err?.name === "PkiError" && typeof err.code === "string") {
    return new AppError(PKI_CODES[err.code] ?? "UNPROCESSABLE", err.message ?? "Invalid PKI input");
  }
  // Prisma unique-constraint violations that a service did not anticipate (a race).
  if (err?.code === "P2002") return new AppError("CONFLICT", "A record with the same unique value already exists");
  if (err?.code === "P2025") return new AppError("NOT_FOUND", "Record not found");
  console.error("[certfleet] unexpected error:", e);
  return new AppError("INTERNAL", "An internal error occurred");
}

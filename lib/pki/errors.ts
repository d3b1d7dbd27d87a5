// The one error type lib/pki throws. Services map `code` to HTTP status / form state;
// `message` is written for an operator (what was wrong and what to do), never a stack dump.

/** Codes lib/pki uses today; other modules may add their own (the type stays open). */
export type PkiErrorCode =
  | "INVALID_INPUT"
  | "CSR_MALFORMED"
  | "CSR_SIGNATURE_INVALID"
  | "CSR_FORBIDDEN_EXTENSION"
  | "KEY_POLICY"
  | "MASTER_KEY_MISMATCH"
  | "SEALED_SECRET_MALFORMED"
  | "SIGNER_MISMATCH"
  | "ISSUER_EXPIRED"
  | "CRL_UNSUPPORTED"
  | (string & {});

export class PkiError extends Error {
  override readonly name = "PkiError";
  constructor(
    readonly code: PkiErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isPkiError(value: unknown, code?: PkiErrorCode): value is PkiError {
  return value instanceof PkiError && (code === undefined || value.code === code);
}

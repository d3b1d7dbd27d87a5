// The RFC 5280 §5.3.1 CRLReason table, shared by CRL entries, OCSP answers, validation and the
// services: a reason is a fact about the revocation, not about the CRL encoding.
import { invalidInput } from "./der";

/** RFC 5280 CRLReason codes (7 is unused by the standard). */
export const REVOCATION_REASONS = {
  unspecified: 0,
  keyCompromise: 1,
  cACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  certificateHold: 6,
  removeFromCRL: 8,
  privilegeWithdrawn: 9,
  aACompromise: 10,
} as const;
export type RevocationReasonName = keyof typeof REVOCATION_REASONS;
export type RevocationReasonCode = (typeof REVOCATION_REASONS)[RevocationReasonName];

/** Code → name, e.g. REVOCATION_REASON_NAMES[1] === "keyCompromise". */
export const REVOCATION_REASON_NAMES: Readonly<Record<number, RevocationReasonName>> = Object.freeze(
  Object.fromEntries(Object.entries(REVOCATION_REASONS).map(([name, code]) => [code, name])) as Record<
    number,
    RevocationReasonName
  >,
);

/** Accepts a reason code or name; returns the code or throws PkiError INVALID_INPUT. */
export function revocationReasonCode(reason: number | string): RevocationReasonCode {
  const code = typeof reason === "number" ? reason : REVOCATION_REASONS[reason as RevocationReasonName];
  if (code === undefined || REVOCATION_REASON_NAMES[code] === undefined) {
    throw invalidInput(`unknown revocation reason: ${String(reason)}`);
  }
  return code as RevocationReasonCode;
}

// Validity windows for everything CertFleet signs.
import type { Clock } from "./clock";
import { PkiError } from "./errors";

/** Devices with drifting RTCs must not see a brand-new certificate as "not yet valid". */
export const CLOCK_SKEW_MS = 5 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface ValidityWindow {
  notBefore: Date;
  notAfter: Date;
}

/**
 * notBefore = now - 5 min, whole seconds (X.509 times carry no fractions, and a stored value must
 * equal the encoded one); notAfter = notBefore + days, never past `cap` (the issuer's notAfter:
 * a certificate outliving its issuer only produces confusing validation failures later).
 */
export function validityWindow(clock: Clock, days: number, cap?: Date): ValidityWindow {
  const now = clock.now().getTime();
  const notBefore = new Date(Math.floor((now - CLOCK_SKEW_MS) / 1000) * 1000);
  let notAfter = new Date(notBefore.getTime() + days * DAY_MS);
  if (cap) {
    if (cap.getTime() <= now) {
      throw new PkiError("ISSUER_EXPIRED", `The issuing CA expired on ${cap.toISOString()}; renew or replace it before issuing.`);
    }
    if (notAfter > cap) notAfter = new Date(Math.floor(cap.getTime() / 1000) * 1000);
  }
  return { notBefore, notAfter };
}

export function assertValidityDays(days: number, max: number, what: string): number {
  if (!Number.isInteger(days) || days < 1 || days > max) {
    throw new PkiError("INVALID_INPUT", `Validity for ${what} must be a whole number of days from 1 to ${max}; got ${days}.`);
  }
  return days;
}

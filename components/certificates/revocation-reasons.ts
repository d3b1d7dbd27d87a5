// Operator wording for RFC 5280 revocation reasons. Keyed by the validation type so the list stays
// exactly the server's (a missing or extra reason is a type error), without shipping the PKI core
// to the browser.
import type { TRevokeReason } from "@/lib/validation/certificates";

export const REASON_LABELS: Record<TRevokeReason, string> = {
  keyCompromise: "Key compromise",
  cessationOfOperation: "Cessation of operation",
  affiliationChanged: "Affiliation changed",
  superseded: "Superseded",
  privilegeWithdrawn: "Privilege withdrawn",
  certificateHold: "Certificate hold (reversible)",
  unspecified: "Unspecified",
};

export const REASON_HELP: Record<TRevokeReason, string> = {
  keyCompromise: "The private key was stolen, leaked or may have been copied (e.g. a stolen device).",
  cessationOfOperation: "The device is retired and will not connect again.",
  affiliationChanged: "The device changed owner or site; its certificate names no longer fit.",
  superseded: "A new certificate replaces this one and the old one must stop working now.",
  privilegeWithdrawn: "The device is no longer allowed to connect.",
  certificateHold: "Suspend for now; the hold can be released later and the certificate is valid again.",
  unspecified: "No reason given (brokers treat it like any other revocation).",
};

export const REVOKE_REASON_LIST = Object.keys(REASON_LABELS) as TRevokeReason[];

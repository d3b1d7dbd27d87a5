// Certificate serial numbers.
//
// Rules (RFC 5280 4.1.2.2 and CA/B Forum practice; keep them):
// - positive, at most 20 octets, unpredictable: 16 random bytes with the top bit cleared
//   (so the INTEGER is positive without a 0x00 pad) and a non-zero first byte (so the DER
//   encoding is always exactly 16 octets): 127 - a fraction of a bit of entropy, far above 64.
// - `serialHex` everywhere in CertFleet is the lowercase hex of the DER INTEGER's content octets:
//   even length, no leading 00 unless the next byte has its top bit set (the sign needs it).
//   Serials we generate never need the pad, so this equals what `openssl x509 -serial` prints.
//   Database rows, CRL entries and OCSP lookups all compare this form.
import { PkiError } from "./errors";
import { crypto } from "./x509";

export const SERIAL_BYTES = 16;

export function generateSerial(): Uint8Array {
  const bytes = new Uint8Array(SERIAL_BYTES);
  do {
    crypto.getRandomValues(bytes);
    bytes[0] &= 0x7f;
  } while (bytes[0] === 0);
  return bytes;
}

/** Hex of DER INTEGER content octets, in the canonical CertFleet form. */
export function serialBytesToHex(contentOctets: Uint8Array): string {
  return Buffer.from(contentOctets).toString("hex");
}

/**
 * Canonicalises a serial typed or pasted by a person or read from elsewhere (any case, optional
 * colons/spaces, with or without a 00 pad) into the CertFleet form. Throws INVALID_INPUT for
 * zero, negative-looking junk or more than 20 octets.
 */
export function normalizeSerialHex(input: string): string {
  const hex = input.trim().replace(/^0x/i, "").replace(/[\s:]/g, "").toLowerCase();
  if (!/^[0-9a-f]+$/.test(hex)) throw new PkiError("INVALID_INPUT", `Serial "${input}" is not hexadecimal.`);
  const value = BigInt(`0x${hex}`);
  if (value === 0n) throw new PkiError("INVALID_INPUT", "Serial must be positive.");
  let out = value.toString(16);
  if (out.length % 2) out = `0${out}`;
  if (parseInt(out.slice(0, 2), 16) & 0x80) out = `00${out}`;
  if (out.length > 40) throw new PkiError("INVALID_INPUT", "Serial is longer than 20 octets (RFC 5280 limit).");
  return out;
}

// Minimal DER helpers for the hot paths: a strict TLV reader to pull exact bytes out of
// certificates, CSRs and CRLs, and the few encoders the CRL, OCSP and issuance writers need
// (lengths, INTEGER serials, times). Everything structurally richer (extensions, names) goes
// through asn1js / @peculiar/asn1-x509.
import { PkiError } from "./errors";

export const TAG_INTEGER = 0x02;
export const TAG_BIT_STRING = 0x03;
export const TAG_OCTET_STRING = 0x04;
export const TAG_OID = 0x06;
export const TAG_ENUMERATED = 0x0a;
export const TAG_UTC_TIME = 0x17;
export const TAG_GENERALIZED_TIME = 0x18;
export const TAG_SEQUENCE = 0x30;

/** Structurally broken DER (a CRL, certificate or signature that cannot be read). */
export class DerError extends PkiError {
  constructor(message: string) {
    super("DER_MALFORMED", message);
  }
}

/** Bad arguments from a caller (PkiError INVALID_INPUT, mapped to 4xx by services). */
export const invalidInput = (message: string) => new PkiError("INVALID_INPUT", message);

/** One DER element: `tag` (single-byte tags only), header start, content [start, end). */
export interface Tlv {
  tag: number;
  offset: number;
  start: number;
  end: number;
}

/** Reads the element at `offset`, refusing indefinite or overlong lengths and overruns of `limit`. */
export function readTlv(buf: Uint8Array, offset: number, limit = buf.length): Tlv {
  if (offset + 2 > limit) throw new DerError("truncated DER header");
  const tag = buf[offset];
  if ((tag & 0x1f) === 0x1f) throw new DerError("multi-byte tags are not supported");
  let pos = offset + 1;
  const first = buf[pos++];
  let len: number;
  if (first < 0x80) {
    len = first;
  } else {
    const n = first & 0x7f;
    if (n === 0) throw new DerError("indefinite length is not DER");
    if (n > 4) throw new DerError("DER length too large");
    if (pos + n > limit) throw new DerError("truncated DER length");
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[pos++];
    if (len < 0x80 || (n > 1 && buf[pos - n] === 0)) throw new DerError("non-minimal DER length");
  }
  if (pos + len > limit) throw new DerError("DER element overruns its container");
  return { tag, offset, start: pos, end: pos + len };
}

/** Reads an element and checks its tag. */
export function expectTlv(buf: Uint8Array, offset: number, tag: number, limit = buf.length): Tlv {
  const tlv = readTlv(buf, offset, limit);
  if (tlv.tag !== tag) {
    throw new DerError(`expected tag 0x${tag.toString(16)}, found 0x${tlv.tag.toString(16)} at ${offset}`);
  }
  return tlv;
}

/** The children of a constructed element, in order. */
export function childrenOf(buf: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  let pos = parent.start;
  while (pos < parent.end) {
    const child = readTlv(buf, pos, parent.end);
    out.push(child);
    pos = child.end;
  }
  return out;
}

export function lengthBytes(len: number): Uint8Array {
  if (len < 0x80) return Uint8Array.of(len);
  const bytes: number[] = [];
  for (let v = len; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

/** Header (tag + length) size for content of `len` bytes. */
export function headerSize(len: number): number {
  if (len < 0x80) return 2;
  let n = 0;
  for (let v = len; v > 0; v = Math.floor(v / 256)) n++;
  return 2 + n;
}

/** Writes tag + minimal length at `pos` in `out` (no allocation: hot paths call it per element); returns the position after the header. */
export function writeHeader(out: Uint8Array, pos: number, tag: number, len: number): number {
  out[pos++] = tag;
  if (len < 0x80) {
    out[pos++] = len;
    return pos;
  }
  const n = headerSize(len) - 2;
  out[pos++] = 0x80 | n;
  for (let i = n - 1; i >= 0; i--) out[pos + i] = Math.floor(len / 256 ** (n - 1 - i)) & 0xff;
  return pos + n;
}

/** One DER element: `tag`, the minimal length, then `parts` back to back. */
export function tlv(tag: number, ...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  let len = 0;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(headerSize(len) + len);
  let pos = writeHeader(out, 0, tag, len);
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

export function concatBytes(parts: Uint8Array[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(len);
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * CertFleet's serial form (the rule lives in serial.ts): lowercase hex of the DER INTEGER content
 * octets, minimal, so a 00 pad appears only before a byte with the top bit set.
 */
export function serialHexOfContent(content: Uint8Array): string {
  let i = 0;
  while (i < content.length - 1 && content[i] === 0 && !(content[i + 1] & 0x80)) i++;
  return toHex(content.subarray(i));
}

function hexNibble(c: number): number {
  if (c >= 48 && c <= 57) return c - 48; // 0-9
  if (c >= 97 && c <= 102) return c - 87; // a-f
  if (c >= 65 && c <= 70) return c - 55; // A-F
  return -1;
}

/**
 * The value bytes of a positive serial given in hex (minimal, no sign pad). Accepts CertFleet's
 * form (serial.ts) and also unpadded or colon-separated hex. Hot path of CRL entry encoding, hence
 * no regexes or Buffers.
 */
export function serialValueBytes(serialHex: string): Uint8Array {
  const nibbles: number[] = [];
  for (let i = 0; i < serialHex.length; i++) {
    const c = serialHex.charCodeAt(i);
    const v = hexNibble(c);
    if (v >= 0) {
      if (v === 0 && nibbles.length === 0) continue; // leading zero
      nibbles.push(v);
    } else if (c !== 58 && c !== 32 && c !== 9 && c !== 10 && c !== 13) {
      throw invalidInput(`invalid serial number hex: "${serialHex}"`);
    }
  }
  if (serialHex.length === 0) throw invalidInput("empty serial number");
  if (nibbles.length === 0) return Uint8Array.of(0);
  const odd = nibbles.length % 2;
  const out = new Uint8Array((nibbles.length + odd) / 2);
  for (let i = 0; i < nibbles.length; i++) {
    const j = i + odd;
    out[j >> 1] |= j % 2 ? nibbles[i] : nibbles[i] << 4;
  }
  return out;
}

/** Size of the DER INTEGER of a positive serial value. */
export function serialIntegerSize(value: Uint8Array): number {
  return 2 + value.length + (value[0] & 0x80 ? 1 : 0);
}

/** Writes the DER INTEGER of a positive serial value (0x00 pad when the top bit is set). */
export function writeSerialInteger(out: Uint8Array, pos: number, value: Uint8Array): number {
  if (value.length > 20) throw invalidInput("serial numbers longer than 20 octets are not allowed (RFC 5280 4.1.2.2)");
  const pad = value[0] & 0x80 ? 1 : 0;
  out[pos++] = TAG_INTEGER;
  out[pos++] = pad + value.length;
  if (pad) out[pos++] = 0;
  out.set(value, pos);
  return pos + value.length;
}

/** DER INTEGER of a non-negative bigint. */
export function encodeUnsignedInteger(value: bigint): Uint8Array {
  if (value < 0n) throw invalidInput("negative integer");
  let hex = value.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  const body = Buffer.from(hex, "hex");
  return body[0] & 0x80 ? tlv(TAG_INTEGER, Uint8Array.of(0), body) : tlv(TAG_INTEGER, body);
}

/** Size of the DER Time for `date` (see writeTime). */
export function timeSize(date: Date): number {
  const y = date.getUTCFullYear();
  return y >= 1950 && y < 2050 ? 15 : 17;
}

/**
 * RFC 5280 Time: UTCTime (YYMMDDHHMMSSZ) for 1950–2049, GeneralizedTime (YYYYMMDDHHMMSSZ) otherwise
 * or when `generalized` (OCSP uses it always), always UTC and whole seconds (milliseconds are
 * dropped, never rounded up). Returns the end position.
 */
export function writeTime(out: Uint8Array, pos: number, date: Date, generalized = false): number {
  if (!Number.isFinite(date.getTime())) throw invalidInput("invalid date");
  const y = date.getUTCFullYear();
  if (y < 0 || y > 9999) throw invalidInput("year out of range for X.509 time");
  const two = (n: number) => {
    out[pos++] = 48 + Math.floor(n / 10);
    out[pos++] = 48 + (n % 10);
  };
  if (!generalized && y >= 1950 && y < 2050) {
    out[pos++] = TAG_UTC_TIME;
    out[pos++] = 13;
  } else {
    out[pos++] = TAG_GENERALIZED_TIME;
    out[pos++] = 15;
    two(Math.floor(y / 100));
  }
  two(y % 100);
  two(date.getUTCMonth() + 1);
  two(date.getUTCDate());
  two(date.getUTCHours());
  two(date.getUTCMinutes());
  two(date.getUTCSeconds());
  out[pos++] = 0x5a; // Z
  return pos;
}

/** GeneralizedTime YYYYMMDDHHMMSSZ whatever the year (RFC 6960 times). */
export function encodeGeneralizedTime(date: Date): Uint8Array {
  const out = new Uint8Array(17);
  writeTime(out, 0, date, true);
  return out;
}

export function encodeTime(date: Date): Uint8Array {
  const out = new Uint8Array(timeSize(date));
  writeTime(out, 0, date);
  return out;
}

/** Parses a DER UTCTime / GeneralizedTime element (Z form, whole seconds) back to a Date. */
export function decodeTime(buf: Uint8Array, t: Tlv): Date {
  const s = Buffer.from(buf.subarray(t.start, t.end)).toString("latin1");
  let m: RegExpMatchArray | null;
  if (t.tag === TAG_UTC_TIME && (m = s.match(/^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/))) {
    const yy = Number(m[1]);
    return new Date(Date.UTC(yy < 50 ? 2000 + yy : 1900 + yy, +m[2] - 1, +m[3], +m[4], +m[5], +m[6]));
  }
  if (t.tag === TAG_GENERALIZED_TIME && (m = s.match(/^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(?:\.\d+)?Z$/))) {
    const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]));
    d.setUTCFullYear(+m[1]); // Date.UTC maps years 0–99 to 1900–1999
    return d;
  }
  throw new DerError(`unsupported time encoding "${s}"`);
}

/** The parts of a certificate the revocation code needs, as exact DER slices. */
export interface CertificateParts {
  /** The subject Name, TLV bytes exactly as in the certificate. */
  subjectDer: Uint8Array;
  /** The SubjectPublicKeyInfo, TLV bytes. */
  subjectPublicKeyInfoDer: Uint8Array;
  /** The subjectPublicKey BIT STRING contents without the unused-bits octet (what CertID and SKI hash). */
  subjectPublicKeyBits: Uint8Array;
  /** The keyIdentifier of the SubjectKeyIdentifier extension, when present. */
  subjectKeyIdentifier?: Uint8Array;
}

const OID_SKI = Uint8Array.of(0x06, 0x03, 0x55, 0x1d, 0x0e); // 2.5.29.14

export function parseCertificateParts(der: Uint8Array): CertificateParts {
  const cert = expectTlv(der, 0, TAG_SEQUENCE);
  if (cert.end !== der.length) throw new DerError("trailing bytes after certificate");
  const tbs = expectTlv(der, cert.start, TAG_SEQUENCE, cert.end);
  const fields = childrenOf(der, tbs);
  let i = 0;
  if (fields[i]?.tag === 0xa0) i++; // [0] version
  // serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo, [1] [2] [3]
  const subject = fields[i + 4];
  const spki = fields[i + 5];
  if (!subject || subject.tag !== TAG_SEQUENCE || !spki || spki.tag !== TAG_SEQUENCE) {
    throw new DerError("not an X.509 certificate");
  }
  const [, bits] = childrenOf(der, spki);
  if (!bits || bits.tag !== TAG_BIT_STRING || bits.end - bits.start < 1) throw new DerError("bad subjectPublicKey");
  let subjectKeyIdentifier: Uint8Array | undefined;
  const extsWrapper = fields.slice(i + 6).find((f) => f.tag === 0xa3);
  if (extsWrapper) {
    const exts = expectTlv(der, extsWrapper.start, TAG_SEQUENCE, extsWrapper.end);
    for (const ext of childrenOf(der, exts)) {
      const parts = childrenOf(der, ext);
      if (!bytesEqual(der.subarray(parts[0].offset, parts[0].end), OID_SKI)) continue;
      const value = parts[parts.length - 1];
      const keyId = expectTlv(der, value.start, TAG_OCTET_STRING, value.end);
      subjectKeyIdentifier = der.slice(keyId.start, keyId.end);
    }
  }
  return {
    subjectDer: der.slice(subject.offset, subject.end),
    subjectPublicKeyInfoDer: der.slice(spki.offset, spki.end),
    subjectPublicKeyBits: der.slice(bits.start + 1, bits.end),
    subjectKeyIdentifier,
  };
}

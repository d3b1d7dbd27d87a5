// Minimal DER helpers for the hot paths, each the one home of its concept: a strict TLV reader to
// pull exact bytes out of certificates, CSRs and CRLs, and the encoders the CRL, OCSP and issuance
// writers share (lengths, OBJECT IDENTIFIERs, INTEGER serials, times). Everything structurally
// richer (extensions, names) goes through asn1js / @peculiar/asn1-x509.
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

/** DER OBJECT IDENTIFIER (tag included) of a dotted OID: first two arcs as 40*a+b, then base-128 arcs. */
export function encodeOid(dotted: string): Uint8Array {
  const arcs = dotted.split(".").map((a) => (/^\d+$/.test(a) ? BigInt(a) : -1n));
  if (arcs.length < 2 || arcs.some((a) => a < 0n) || arcs[0] > 2n || (arcs[0] < 2n && arcs[1] > 39n)) {
    throw invalidInput(`"${dotted}" is not an object identifier.`);
  }
  const out: number[] = [];
  for (const arc of [arcs[0] * 40n + arcs[1], ...arcs.slice(2)]) {
    const septets = [Number(arc & 0x7fn)];
    for (let v = arc >> 7n; v > 0n; v >>= 7n) septets.unshift(Number(v & 0x7fn) | 0x80); // continuation bit on all but the last
    out.push(...septets);
  }
  return tlv(TAG_OID, Uint8Array.from(out));
}

// Few distinct OIDs ever arrive (algorithms, extensions), and the OCSP request reader decodes one
// per request: memoised by content bytes, bounded so hostile input cannot grow it.
const decodedOids = new Map<string, string>();

/** Dotted form of the OBJECT IDENTIFIER content octets buf[start, end) (X.690 8.19: minimal base-128 arcs). */
export function decodeOid(buf: Uint8Array, start: number, end: number): string {
  if (end <= start) throw new DerError("empty OBJECT IDENTIFIER");
  const key = Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString("latin1");
  let dotted = decodedOids.get(key);
  if (dotted !== undefined) return dotted;
  const arcs: number[] = [];
  let value = 0;
  let first = true; // at the first octet of an arc
  for (let i = start; i < end; i++) {
    const b = buf[i];
    if (first && b === 0x80) throw new DerError("non-minimal OBJECT IDENTIFIER arc");
    value = value * 128 + (b & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER / 128) throw new DerError("OBJECT IDENTIFIER arc too large");
    first = (b & 0x80) === 0;
    if (first) {
      if (arcs.length === 0) arcs.push(value < 40 ? 0 : value < 80 ? 1 : 2, value < 80 ? value % 40 : value - 80);
      else arcs.push(value);
      value = 0;
    }
  }
  if (!first) throw new DerError("truncated OBJECT IDENTIFIER");
  dotted = arcs.join(".");
  if (decodedOids.size < 256) decodedOids.set(key, dotted);
  return dotted;
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

// Hex digit value by char code; SEPARATOR for what a serial may contain besides digits (colons and
// white space, as people paste them); INVALID otherwise.
const INVALID = -1;
const SEPARATOR = -2;
const HEX_VALUE = (() => {
  const t = new Int8Array(128).fill(INVALID);
  for (let i = 0; i < 10; i++) t[48 + i] = i;
  for (let i = 0; i < 6; i++) t[97 + i] = t[65 + i] = 10 + i;
  for (const c of ":\t\n\r ") t[c.charCodeAt(0)] = SEPARATOR;
  return t;
})();

// Byte value of two ASCII hex digits by (charCode << 7 | charCode), -1 for anything else: CertFleet
// serials (even-length plain hex) decode a byte per lookup instead of a nibble per char.
const HEX_PAIR = (() => {
  const t = new Int16Array(128 * 128).fill(-1);
  for (let h = 0; h < 128; h++) {
    for (let l = 0; l < 128; l++) {
      if (HEX_VALUE[h] >= 0 && HEX_VALUE[l] >= 0) t[(h << 7) | l] = (HEX_VALUE[h] << 4) | HEX_VALUE[l];
    }
  }
  return t;
})();

function hexByteAt(hex: string, i: number): number {
  const h = hex.charCodeAt(i);
  const l = hex.charCodeAt(i + 1);
  return (h | l) < 128 ? HEX_PAIR[(h << 7) | l] : -1;
}

/** Largest serial INTEGER writeSerialHex writes: tag, length, a 00 sign pad and 20 octets. */
export const MAX_SERIAL_INTEGER_SIZE = 23;

/**
 * Writes the DER INTEGER of a positive serial given in hex at `pos` (room for
 * MAX_SERIAL_INTEGER_SIZE bytes is the caller's business); returns the end. Accepts CertFleet's
 * form (serial.ts) and also odd-length, upper-case, colon- or space-separated hex; leading zeros
 * are dropped and a 00 pad added before a top bit. The CRL writer runs it for every entry of a
 * million-entry CRL, hence no regexes, Buffers or per-call allocations.
 */
export function writeSerialHex(out: Uint8Array, pos: number, hex: string): number {
  const len = hex.length;
  // Fast path: even-length plain hex, decoded a byte at a time; leading zero bytes dropped.
  if (len > 0 && (len & 1) === 0) {
    let i = 0;
    let b = 0;
    while (i < len && (b = hexByteAt(hex, i)) === 0) i += 2;
    if (i === len) {
      out[pos] = TAG_INTEGER;
      out[pos + 1] = 1;
      out[pos + 2] = 0;
      return pos + 3;
    }
    const size = (len - i) >> 1;
    if (b > 0 && size <= 20) {
      const start = pos;
      out[pos++] = TAG_INTEGER;
      if (b >= 0x80) {
        out[pos++] = size + 1; // a 00 keeps the INTEGER positive
        out[pos++] = 0;
      } else out[pos++] = size;
      for (; i < len; i += 2) {
        b = hexByteAt(hex, i);
        if (b < 0) break;
        out[pos++] = b;
      }
      if (i === len) return pos;
      pos = start; // a separator or an invalid char: the general path sorts it out
    }
  }

  // General path (odd length, colons, whitespace; and every error): first pass counts the
  // significant nibbles, second writes them.
  let count = 0;
  let first = 0;
  let from = -1;
  for (let i = 0; i < len; i++) {
    const c = hex.charCodeAt(i);
    const v = c < 128 ? HEX_VALUE[c] : INVALID;
    if (v >= 0) {
      if (count === 0) {
        if (v === 0) continue; // leading zero
        first = v;
        from = i;
      }
      count++;
    } else if (v === INVALID) {
      throw invalidInput(`invalid serial number hex: "${hex}"`);
    }
  }
  if (len === 0) throw invalidInput("empty serial number");
  out[pos++] = TAG_INTEGER;
  if (count === 0) {
    out[pos++] = 1;
    out[pos++] = 0;
    return pos;
  }
  const odd = count & 1;
  const size = (count + odd) >> 1;
  if (size > 20) throw invalidInput("serial numbers longer than 20 octets are not allowed (RFC 5280 4.1.2.2)");
  const pad = !odd && first >= 8 ? 1 : 0;
  out[pos++] = size + pad;
  if (pad) out[pos++] = 0;
  let high = odd ? 0 : -1; // -1: waiting for a high nibble
  for (let i = from; i < len; i++) {
    const v = HEX_VALUE[hex.charCodeAt(i)];
    if (v < 0) continue;
    if (high < 0) high = v;
    else {
      out[pos++] = (high << 4) | v;
      high = -1;
    }
  }
  return pos;
}

/** The DER INTEGER of a serial given as its content octets, which must be canonical (serial.ts). */
export function encodeSerialInteger(content: Uint8Array): Uint8Array {
  // The canonical form is exactly the INTEGER's content octets; anything else would make the
  // stored serialHex differ from the certificate's.
  const canonical =
    content.length >= 1 &&
    content.length <= 20 &&
    !(content[0] & 0x80) &&
    !(content[0] === 0 && (content.length === 1 || !(content[1] & 0x80)));
  if (!canonical) throw invalidInput("Serial must be a positive, minimally encoded integer of at most 20 octets.");
  return tlv(TAG_INTEGER, content);
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
  return writeTimeFields(
    out,
    pos,
    date.getUTCFullYear(),
    date.getUTCMonth() + 1,
    date.getUTCDate(),
    date.getUTCHours(),
    date.getUTCMinutes(),
    date.getUTCSeconds(),
    generalized,
  );
}

/**
 * writeTime from civil UTC fields (month 1–12): the one place that knows the Time encoding. The
 * CRL entry writer computes the fields itself from epoch days (no Date per entry) and lands here.
 */
export function writeTimeFields(
  out: Uint8Array,
  pos: number,
  year: number,
  month: number,
  day: number,
  hours: number,
  minutes: number,
  seconds: number,
  generalized = false,
): number {
  if (year < 0 || year > 9999) throw invalidInput("year out of range for X.509 time");
  if (!generalized && year >= 1950 && year < 2050) {
    out[pos++] = TAG_UTC_TIME;
    out[pos++] = 13;
  } else {
    out[pos++] = TAG_GENERALIZED_TIME;
    out[pos++] = 15;
    pos = twoDigits(out, pos, Math.floor(year / 100));
  }
  pos = twoDigits(out, pos, year % 100);
  pos = twoDigits(out, pos, month);
  pos = twoDigits(out, pos, day);
  pos = twoDigits(out, pos, hours);
  pos = twoDigits(out, pos, minutes);
  pos = twoDigits(out, pos, seconds);
  out[pos++] = 0x5a; // Z
  return pos;
}

function twoDigits(out: Uint8Array, pos: number, n: number): number {
  out[pos] = 48 + Math.floor(n / 10);
  out[pos + 1] = 48 + (n % 10);
  return pos + 2;
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

const OID_SKI = encodeOid("2.5.29.14");

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

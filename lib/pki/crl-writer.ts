// X.509 v2 CRL generation (RFC 5280 §5) sized for fleets of a million certificates: the revoked
// records (serial, date, reason) are written as DER straight into the one buffer that becomes the
// TBSCertList — no per-entry objects, arrays or concatenations — around a small, library-encoded
// header and extensions. Reading CRLs back is crl-reader.ts.
import { AsnConvert, OctetString } from "@peculiar/asn1-schema";
import {
  AuthorityKeyIdentifier,
  DistributionPointName,
  Extension,
  GeneralName,
  IssuingDistributionPoint,
  KeyIdentifier,
  id_ce_authorityKeyIdentifier,
  id_ce_cRLNumber,
  id_ce_issuingDistributionPoint,
} from "@peculiar/asn1-x509";
import { createHash } from "node:crypto";
import type { X509Certificate } from "./x509";
import type { Signer } from "./signer";
import { signatureAlgorithmIdentifier } from "./algorithm-identifier";
import { certificateDer } from "./certificate";
import { REVOCATION_REASONS, revocationReasonCode, type RevocationReasonName } from "./revocation-reasons";
import {
  invalidInput,
  MAX_SERIAL_INTEGER_SIZE,
  TAG_BIT_STRING,
  TAG_INTEGER,
  TAG_SEQUENCE,
  concatBytes,
  encodeTime,
  encodeUnsignedInteger,
  headerSize,
  parseCertificateParts,
  tlv,
  writeHeader,
  writeSerialHex,
  writeTime,
  writeTimeFields,
} from "./der";

export interface CrlEntryInput {
  /** Certificate serial number in hex (any case, optional colons; CertFleet form from serial.ts; unpadded or colon-separated hex also accepted). */
  serialHex: string;
  revokedAt: Date;
  /** RFC 5280 reason code (or name). Omitted, null or unspecified(0) → no reasonCode entry extension. */
  reason?: number | RevocationReasonName | null;
}

// crlEntryExtensions SEQUENCE { Extension { extnID 2.5.29.21 (reasonCode), extnValue OCTET STRING
// { ENUMERATED code } } }. Fixed shape, so it is spelled out once here and checked against
// @peculiar/asn1-x509's RevokedCertificate decoder in the tests.
const REASON_EXTENSIONS = Uint8Array.of(0x30, 0x0c, 0x30, 0x0a, 0x06, 0x03, 0x55, 0x1d, 0x15, 0x04, 0x03, 0x0a, 0x01, 0x00);

/**
 * DER of one revokedCertificates element:
 *   SEQUENCE { userCertificate INTEGER, revocationDate Time, crlEntryExtensions? }.
 * The per-entry form, with der.ts's Date-based writeTime; buildCrl's `revoked` path writes the same
 * bytes in bulk (writeRevokedEntry, with its own epoch-day time fields) and the tests hold the two
 * to byte equality.
 */
export function encodeCrlEntry(input: CrlEntryInput): Uint8Array<ArrayBuffer> {
  let code: number = REVOCATION_REASONS.unspecified;
  if (input.reason !== undefined && input.reason !== null) {
    code = revocationReasonCode(input.reason);
    // removeFromCRL only has meaning in delta CRLs (RFC 5280 §5.3.1); CertFleet issues full CRLs,
    // where "un-revoking" a certificateHold means leaving the entry out.
    if (code === REVOCATION_REASONS.removeFromCRL) {
      throw invalidInput("removeFromCRL is only valid in delta CRLs; omit the entry instead");
    }
  }
  const out = new Uint8Array(MAX_ENTRY_SIZE);
  let pos = writeSerialHex(out, 2, input.serialHex);
  pos = writeTime(out, pos, input.revokedAt);
  // unspecified SHOULD NOT be written as a reasonCode (RFC 5280 §5.3.1).
  if (code !== REVOCATION_REASONS.unspecified) {
    out.set(REASON_EXTENSIONS, pos);
    pos += REASON_EXTENSIONS.length;
    out[pos - 1] = code;
  }
  // The content never reaches 128 bytes (MAX_ENTRY_SIZE), so the SEQUENCE length is short-form.
  out[0] = TAG_SEQUENCE;
  out[1] = pos - 2;
  return out.slice(0, pos);
}

// ---- Bulk entry writer -------------------------------------------------------------------------
// encodeCrlEntry costs ~2 µs an entry (a nibble array, a Uint8Array and a copy each, and callers
// kept a Map of them to avoid paying it twice): 2 s for a million. Writing each record's DER in
// place costs ~0.2 µs, signature included, so a CRL is simply re-encoded from the records every time.

/** Largest revokedCertificates element: SEQUENCE header 2 + INTEGER 2+1+20 + GeneralizedTime 17 + extensions 14. */
const MAX_ENTRY_SIZE = 2 + MAX_SERIAL_INTEGER_SIZE + 17 + REASON_EXTENSIONS.length;

// 1 for the codes an entry may carry: every RFC 5280 code but 7 (unused) and removeFromCRL (8).
const ENTRY_REASON_OK = Uint8Array.from({ length: 11 }, (_, c) => (c === 7 || c === REVOCATION_REASONS.removeFromCRL ? 0 : 1));

function entryReasonCode(reason: CrlEntryInput["reason"]): number {
  if (reason === undefined || reason === null) return 0;
  const code: number | undefined = typeof reason === "number" ? reason : REVOCATION_REASONS[reason as RevocationReasonName];
  if (code !== undefined && ENTRY_REASON_OK[code] === 1) return code;
  // Errors only: the same messages as encodeCrlEntry.
  revocationReasonCode(reason);
  throw invalidInput("removeFromCRL is only valid in delta CRLs; omit the entry instead");
}

const MS_PER_DAY = 86_400_000;
const MAX_HEADER = 6; // tag + 0x84 + 4 length octets: content below 4 GiB

// The civil date of the last epoch day converted: revocations cluster in time, so most entries
// reuse it.
let lastEpochDay = NaN;
let lastYear = 0;
let lastMonth = 0;
let lastDay = 0;

/**
 * The Time of `ms` at `pos`, as writeTime writes it; returns the end. Kept apart from writeTime on
 * purpose: civil dates from epoch days, memoised per day, cost a fraction of a Date's getters per
 * entry, and the edge years (0001, 1949/1950, 2049/2050, 9999) are held to writeTime's bytes by the tests.
 */
function writeRevocationTime(out: Uint8Array, pos: number, ms: number): number {
  if (!Number.isFinite(ms)) throw invalidInput("invalid date");
  const days = Math.floor(ms / MS_PER_DAY);
  if (days !== lastEpochDay) {
    // H. Hinnant's days_from_civil inverse: no Date objects, no getters.
    const z = days + 719_468;
    const era = Math.floor(z / 146_097);
    const doe = z - era * 146_097;
    const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
    const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
    const mp = Math.floor((5 * doy + 2) / 153);
    lastDay = doy - Math.floor((153 * mp + 2) / 5) + 1;
    lastMonth = mp < 10 ? mp + 3 : mp - 9;
    lastYear = yoe + era * 400 + (lastMonth <= 2 ? 1 : 0);
    lastEpochDay = days;
  }
  let secs = Math.floor((ms - days * MS_PER_DAY) / 1000); // milliseconds dropped, never rounded up
  const hours = Math.floor(secs / 3600);
  secs -= hours * 3600;
  const minutes = Math.floor(secs / 60);
  return writeTimeFields(out, pos, lastYear, lastMonth, lastDay, hours, minutes, secs - minutes * 60);
}

/**
 * Writes one revokedCertificates element for `r` at `pos` (room for MAX_ENTRY_SIZE bytes is the
 * caller's business); returns the end position. Same bytes as encodeCrlEntry.
 */
function writeRevokedEntry(out: Uint8Array, pos: number, r: CrlEntryInput): number {
  const start = pos;
  pos = writeSerialHex(out, pos + 2, r.serialHex); // + SEQUENCE header: the content never reaches 128 bytes
  pos = writeRevocationTime(out, pos, r.revokedAt.getTime());
  // crlEntryExtensions: only for a reason other than unspecified (RFC 5280 §5.3.1).
  const code = entryReasonCode(r.reason);
  if (code !== 0) {
    for (let i = 0; i < REASON_EXTENSIONS.length - 1; i++) out[pos++] = REASON_EXTENSIONS[i];
    out[pos++] = code;
  }
  out[start] = TAG_SEQUENCE;
  out[start + 1] = pos - start - 2;
  return pos;
}

export interface BuildCrlParams {
  /** The issuing CA certificate (DER or parsed); its subject and SKI name this CRL's issuer. */
  issuerCertificate: Uint8Array | X509Certificate;
  /** The CA's key; CRLs are signed by the certificate issuer itself (no indirect CRLs). */
  signer: Signer;
  /** Monotonically increasing per CA (RFC 5280 §5.2.3); at most 20 octets. */
  crlNumber: bigint;
  thisUpdate: Date;
  nextUpdate: Date;
  /**
   * The revoked certificates, one per serial (not checked here), in the order they appear on the
   * CRL: database records, written straight into the CRL (the fast path)… Each record is read
   * once, in order, and not kept, so an iterator may hand out one reused object (a million
   * records as objects cost ~100 MB and their garbage collection).
   */
  revoked?: Iterable<CrlEntryInput>;
  /** How many records `revoked` holds when it is not an array (sizes the buffer; a wrong hint only costs a copy). */
  revokedCount?: number;
  /** …or pre-encoded revokedCertificates elements from encodeCrlEntry. Not both. */
  entries?: readonly Uint8Array[];
  /**
   * Issuing Distribution Point URIs. Must contain every CRL Distribution Point URI the CA has ever
   * written into a certificate: OpenSSL rejects a CRL whose IDP matches none of the certificate's
   * CDP URIs ("different CRL scope"), and EMQX requires an IDP to be present (see BROKERS.md).
   */
  idpUris: readonly string[];
}

function encodeExtension(extnID: string, critical: boolean, value: ArrayBuffer): Uint8Array {
  return new Uint8Array(AsnConvert.serialize(new Extension({ extnID, critical, extnValue: new OctetString(value) })));
}

function isIa5Uri(uri: string): boolean {
  return /^[a-z][a-z0-9+.-]*:[\x21-\x7e]+$/i.test(uri);
}

/** Builds and signs a complete CRL; returns its DER. */
export async function buildCrl(params: BuildCrlParams): Promise<Uint8Array<ArrayBuffer>> {
  const { signer, crlNumber, thisUpdate, nextUpdate } = params;
  const entries = params.entries ?? [];
  const revoked = params.revoked ?? [];
  const revokedCount = Array.isArray(revoked) ? revoked.length : (params.revokedCount ?? 1024);
  if (entries.length && revokedCount && params.revoked) throw invalidInput("give the CRL entries either as records or pre-encoded, not both");
  if (!(nextUpdate.getTime() > thisUpdate.getTime())) throw invalidInput("nextUpdate must be after thisUpdate");
  const numberDer = encodeUnsignedInteger(crlNumber);
  // RFC 5280 §5.2.3: conforming CRL numbers fit in 20 octets.
  if (numberDer.length - 2 > 20) throw invalidInput("crlNumber longer than 20 octets");
  const uris = [...new Set(params.idpUris)];
  if (uris.length === 0) throw invalidInput("at least one Issuing Distribution Point URI is required");
  for (const uri of uris) if (!isIa5Uri(uri)) throw invalidInput(`invalid distribution point URI: ${uri}`);

  const issuer = parseCertificateParts(certificateDer(params.issuerCertificate));
  // AKI must equal the issuer's SKI so path builders pick the right key; RFC 5280 method 1 as a
  // fallback for an issuer certificate without SKI.
  const keyId = issuer.subjectKeyIdentifier ?? new Uint8Array(createHash("sha1").update(issuer.subjectPublicKeyBits).digest());

  const aki = encodeExtension(
    id_ce_authorityKeyIdentifier,
    false,
    AsnConvert.serialize(new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(keyId) })),
  );
  const number = encodeExtension(id_ce_cRLNumber, false, numberDer.slice().buffer);
  const idp = encodeExtension(
    id_ce_issuingDistributionPoint,
    true,
    AsnConvert.serialize(
      new IssuingDistributionPoint({
        distributionPoint: new DistributionPointName({
          fullName: uris.map((uri) => new GeneralName({ uniformResourceIdentifier: uri })),
        }),
      }),
    ),
  );
  const crlExtensions = tlv(0xa0, tlv(TAG_SEQUENCE, aki, number, idp));

  const algorithm = signatureAlgorithmIdentifier(signer.signatureOid);
  const head = concatBytes([
    Uint8Array.of(TAG_INTEGER, 1, 1), // version v2
    algorithm,
    issuer.subjectDer,
    encodeTime(thisUpdate),
    encodeTime(nextUpdate),
  ]);

  // One buffer, filled front to back: the entries go in first, at an offset that leaves room for
  // the largest possible TBS and revokedCertificates headers plus `head`; those are written after
  // them, right-aligned against the entries, once the entries' length is known. Walking a million
  // entries through an ASN.1 object model costs seconds and gigabytes; this is one pass.
  let capacity = 0;
  for (const e of entries) {
    if (e[0] !== TAG_SEQUENCE) throw invalidInput("CRL entries must be DER from encodeCrlEntry");
    capacity += e.length;
  }
  capacity += revokedCount * MAX_ENTRY_SIZE;
  const entriesStart = MAX_HEADER + head.length + MAX_HEADER;
  let buf = Buffer.allocUnsafeSlow(entriesStart + capacity + crlExtensions.length);
  let pos = entriesStart;
  for (const e of entries) {
    buf.set(e, pos);
    pos += e.length;
  }
  if (Array.isArray(revoked)) {
    for (let i = 0; i < revoked.length; i++) pos = writeRevokedEntry(buf, pos, revoked[i] as CrlEntryInput);
  } else {
    let limit = buf.length - crlExtensions.length - MAX_ENTRY_SIZE;
    for (const r of revoked) {
      if (pos > limit) {
        const grown = Buffer.allocUnsafeSlow(2 * buf.length);
        buf.copy(grown, 0, 0, pos);
        buf = grown;
        limit = buf.length - crlExtensions.length - MAX_ENTRY_SIZE;
      }
      pos = writeRevokedEntry(buf, pos, r);
    }
  }
  const entriesLen = pos - entriesStart;
  buf.set(crlExtensions, pos);
  const tbsEnd = pos + crlExtensions.length;

  let tbsStart = entriesStart;
  if (entriesLen) {
    tbsStart -= headerSize(entriesLen); // revokedCertificates, omitted when empty (§5.1.2.6)
    writeHeader(buf, tbsStart, TAG_SEQUENCE, entriesLen);
  }
  tbsStart -= head.length;
  buf.set(head, tbsStart);
  const tbsContentLen = tbsEnd - tbsStart;
  tbsStart -= headerSize(tbsContentLen);
  if (writeHeader(buf, tbsStart, TAG_SEQUENCE, tbsContentLen) + tbsContentLen !== tbsEnd) throw new Error("CRL length accounting is off");
  const tbs = buf.subarray(tbsStart, tbsEnd);

  const signature = await signer.sign(tbs);
  const sigBits = tlv(TAG_BIT_STRING, Uint8Array.of(0), signature);
  const outerLen = tbs.length + algorithm.length + sigBits.length;
  // Not zero-filled (every byte is written below) and not from Buffer's pool: callers use `.buffer`.
  const outBuf = Buffer.allocUnsafeSlow(headerSize(outerLen) + outerLen);
  const out = new Uint8Array(outBuf.buffer, outBuf.byteOffset, outBuf.length);
  pos = writeHeader(out, 0, TAG_SEQUENCE, outerLen);
  out.set(tbs, pos);
  pos += tbs.length;
  out.set(algorithm, pos);
  pos += algorithm.length;
  out.set(sigBits, pos);
  return out;
}

const PEM_BEGIN = Buffer.from("-----BEGIN X509 CRL-----\n");
const PEM_END = Buffer.from("-----END X509 CRL-----\n");

/**
 * PEM with the label OpenSSL (and Mosquitto, EMQX) expect: "X509 CRL", not "CRL"; 64-character
 * lines. As bytes, ready to serve: the base64 is written once into the output and its lines moved
 * into place (memmove), which is ~5x faster on a 45 MB CRL than splitting and joining strings.
 */
export function crlToPemBytes(der: Uint8Array): Buffer {
  const b64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString("base64");
  const lines = Math.ceil(b64.length / 64);
  const out = Buffer.allocUnsafeSlow(PEM_BEGIN.length + b64.length + lines + PEM_END.length);
  PEM_BEGIN.copy(out, 0);
  // The base64 lands `lines` bytes further on than its final place, so every line moves back by
  // at most that and never over base64 not yet moved.
  const src = PEM_BEGIN.length + lines;
  out.write(b64, src, "latin1");
  let pos = PEM_BEGIN.length;
  for (let i = 0; i < b64.length; i += 64) {
    const len = Math.min(64, b64.length - i);
    out.copyWithin(pos, src + i, src + i + len);
    pos += len;
    out[pos++] = 0x0a;
  }
  PEM_END.copy(out, pos);
  return out;
}

export function crlToPem(der: Uint8Array): string {
  return crlToPemBytes(der).toString("latin1");
}

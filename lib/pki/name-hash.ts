// OpenSSL's subject-name hash (X509_NAME_hash, `openssl x509 -hash`, `openssl crl -hash`): the
// name of the files in an `openssl rehash` directory (`<hash>.0` for certificates, `<hash>.r0` for
// CRLs). Erlang/OTP's ssl_crl_hash_dir looks CRLs up by the same hash, so RabbitMQ finds a CRL only
// under exactly this name.
//
// Rules copied from OpenSSL's x509_name_canon / asn1_string_canon (crypto/x509/x_name.c):
// - every value of a string type (UTF8, Printable, T61, IA5, Visible, BMP, Universal) becomes a
//   UTF8String whose text has leading and trailing whitespace removed, inner whitespace runs
//   collapsed to one space and ASCII letters lowercased; other types are kept as they are;
// - each RDN is re-encoded as a DER SET OF (sorted), and the RDNs are concatenated WITHOUT the
//   outer SEQUENCE header;
// - hash = the first 4 bytes of SHA-1 over that, read little-endian, as 8 lowercase hex digits.
import { createHash } from "node:crypto";
import { TAG_OID, TAG_SEQUENCE, childrenOf, concatBytes, expectTlv, readTlv, tlv } from "./der";

const TAG_SET = 0x31;
const TAG_UTF8 = 0x0c;
const TAG_PRINTABLE = 0x13;
const TAG_T61 = 0x14;
const TAG_IA5 = 0x16;
const TAG_VISIBLE = 0x1a;
const TAG_UNIVERSAL = 0x1c;
const TAG_BMP = 0x1e;
const CANON_TAGS = new Set([TAG_UTF8, TAG_PRINTABLE, TAG_T61, TAG_IA5, TAG_VISIBLE, TAG_UNIVERSAL, TAG_BMP]);

function toUtf8(tag: number, value: Uint8Array): Buffer {
  const bytes = Buffer.from(value);
  switch (tag) {
    case TAG_BMP: {
      let s = "";
      for (let i = 0; i + 1 < bytes.length; i += 2) s += String.fromCharCode(bytes.readUInt16BE(i));
      return Buffer.from(s, "utf8");
    }
    case TAG_UNIVERSAL: {
      let s = "";
      for (let i = 0; i + 3 < bytes.length; i += 4) s += String.fromCodePoint(bytes.readUInt32BE(i));
      return Buffer.from(s, "utf8");
    }
    case TAG_T61:
      // OpenSSL reads T61String as Latin-1.
      return Buffer.from(bytes.toString("latin1"), "utf8");
    default:
      return bytes;
  }
}

// ossl_isspace: space, \t, \n, \v, \f, \r.
const isSpace = (c: number) => c === 0x20 || (c >= 0x09 && c <= 0x0d);

function canonText(utf8: Buffer): Buffer {
  let start = 0;
  let end = utf8.length;
  while (start < end && isSpace(utf8[start])) start++;
  while (end > start && isSpace(utf8[end - 1])) end--;
  const out: number[] = [];
  for (let i = start; i < end; ) {
    const c = utf8[i];
    if (c >= 0x80) {
      out.push(c);
      i++;
    } else if (isSpace(c)) {
      out.push(0x20);
      while (i < end && isSpace(utf8[i])) i++;
    } else {
      out.push(c >= 0x41 && c <= 0x5a ? c + 0x20 : c);
      i++;
    }
  }
  return Buffer.from(out);
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** The canonical encoding OpenSSL hashes, for a DER Name (SEQUENCE OF RDN). */
export function canonicalNameEncoding(nameDer: Uint8Array): Uint8Array {
  const name = expectTlv(nameDer, 0, TAG_SEQUENCE);
  const rdns: Uint8Array[] = [];
  for (const rdn of childrenOf(nameDer, name)) {
    if (rdn.tag !== TAG_SET) throw new Error("Name: an RDN is not a SET");
    const avas = childrenOf(nameDer, rdn).map((ava) => {
      if (ava.tag !== TAG_SEQUENCE) throw new Error("Name: an attribute is not a SEQUENCE");
      const [type, value] = childrenOf(nameDer, ava);
      if (!type || !value || type.tag !== TAG_OID) throw new Error("Name: malformed attribute");
      const typeDer = nameDer.slice(type.offset, type.end);
      const valueDer = CANON_TAGS.has(value.tag)
        ? tlv(TAG_UTF8, canonText(toUtf8(value.tag, nameDer.slice(value.start, value.end))))
        : nameDer.slice(value.offset, value.end);
      return tlv(TAG_SEQUENCE, typeDer, valueDer);
    });
    // DER SET OF: elements in ascending order of their encodings.
    avas.sort(compareBytes);
    rdns.push(tlv(TAG_SET, ...avas));
  }
  return concatBytes(rdns);
}

/** `openssl x509 -hash` / `openssl crl -hash` of a DER Name: 8 lowercase hex digits. */
export function opensslNameHash(nameDer: Uint8Array): string {
  // readTlv first: refuses trailing garbage or a truncated name before hashing anything.
  const outer = readTlv(nameDer, 0);
  if (outer.end !== nameDer.length) throw new Error("Name: trailing bytes");
  const digest = createHash("sha1").update(canonicalNameEncoding(nameDer)).digest();
  return digest.readUInt32LE(0).toString(16).padStart(8, "0");
}

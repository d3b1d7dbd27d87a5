// ECDSA-Sig-Value (RFC 3279 §2.2.3) against WebCrypto's fixed-width r||s (IEEE P1363): signers
// produce the first, WebCrypto verifies the second, so both directions live here once.
/** WebCrypto's ECDSA output is r||s (IEEE P1363); X.509 wants SEQUENCE { INTEGER r, INTEGER s }. */
export function ecdsaRawToDer(raw: Uint8Array): Uint8Array {
  const half = raw.length / 2;
  const int = (bytes: Uint8Array) => {
    let i = 0;
    while (i < bytes.length - 1 && bytes[i] === 0) i++;
    const trimmed = bytes.subarray(i);
    const body = trimmed[0] & 0x80 ? Uint8Array.from([0, ...trimmed]) : trimmed;
    return Uint8Array.from([0x02, body.length, ...body]);
  };
  const r = int(raw.subarray(0, half));
  const s = int(raw.subarray(half));
  const len = r.length + s.length;
  // P-384 signatures stay below 128 bytes of content, so short-form length is enough
  // for every curve we accept; P-521 is refused by key policy.
  return Uint8Array.from([0x30, len, ...r, ...s]);
}

/**
 * The inverse of ecdsaRawToDer: DER ECDSA-Sig-Value to WebCrypto's fixed-width r||s, where each
 * half is `coordinateBytes` long (32 for P-256, 48 for P-384). Returns null when `der` is not a
 * well-formed signature of that size, so verifiers can treat it as "signature invalid".
 */
export function ecdsaDerToRaw(der: Uint8Array, coordinateBytes: number): Uint8Array | null {
  let pos = 0;
  const readLength = (): number | null => {
    if (pos >= der.length) return null;
    const first = der[pos++];
    if (first < 0x80) return first;
    if (first !== 0x81 || pos >= der.length) return null; // signatures we accept stay < 256 bytes
    const len = der[pos++];
    return len >= 0x80 ? len : null;
  };
  if (der[pos++] !== 0x30) return null;
  const seqLen = readLength();
  if (seqLen === null || pos + seqLen !== der.length) return null;
  const out = new Uint8Array(coordinateBytes * 2);
  for (let i = 0; i < 2; i++) {
    if (der[pos++] !== 0x02) return null;
    const len = readLength();
    if (len === null || len === 0 || pos + len > der.length) return null;
    let body = der.subarray(pos, pos + len);
    pos += len;
    if (body[0] & 0x80) return null; // negative integers are not valid r or s
    while (body.length > 1 && body[0] === 0) body = body.subarray(1);
    if (body.length > coordinateBytes) return null;
    out.set(body, (i + 1) * coordinateBytes - body.length);
  }
  return pos === der.length ? out : null;
}

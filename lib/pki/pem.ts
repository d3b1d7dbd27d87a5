// PEM <-> DER. Inputs from operators and devices arrive either way (pasted PEM, uploaded DER),
// so readers accept both and say clearly when the wrong kind of object was given.
import { PkiError } from "./errors";

export interface PemBlock {
  label: string;
  der: Uint8Array;
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

/** Encodes DER as PEM with 64-character lines (the width OpenSSL and most parsers expect). */
export function toPem(der: Uint8Array, label: string): string {
  const b64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString("base64");
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/** Every PEM block in a bundle (chain files, CA bundles), in order. Text outside blocks is ignored. */
export function splitPemBundle(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const match of text.matchAll(PEM_BLOCK)) {
    blocks.push({ label: match[1], der: decodeBase64Body(match[2], match[1]) });
  }
  return blocks;
}

/**
 * Returns the DER of `input`: PEM text (the first block), or bytes that are either PEM text or DER.
 * With `expectedLabel` (one or several accepted labels) a PEM block of another kind is refused.
 * DER input is returned as is; the caller's parser decides whether it is well formed.
 */
export function pemToDer(input: string | Uint8Array, expectedLabel?: string | readonly string[]): Uint8Array {
  const text = typeof input === "string" ? input : looksLikePem(input) ? Buffer.from(input).toString("latin1") : null;
  if (text === null) return (input as Uint8Array).slice();

  const blocks = splitPemBundle(text);
  if (blocks.length === 0) {
    throw new PkiError("INVALID_INPUT", "Expected a PEM block (-----BEGIN …-----) or DER bytes, found neither.");
  }
  const block = blocks[0];
  const accepted = expectedLabel === undefined ? null : typeof expectedLabel === "string" ? [expectedLabel] : expectedLabel;
  if (accepted && !accepted.includes(block.label)) {
    throw new PkiError(
      "INVALID_INPUT",
      `Expected a PEM "${accepted.join('" or "')}" block, got "${block.label}".`,
    );
  }
  return block.der;
}

function looksLikePem(bytes: Uint8Array): boolean {
  // DER always starts with a tag byte (0x30 for every structure we read); PEM text starts with
  // whitespace or "-----BEGIN" possibly after a few lines of comments.
  const head = Buffer.from(bytes.subarray(0, 4096)).toString("latin1");
  return head.includes("-----BEGIN ");
}

function decodeBase64Body(body: string, label: string): Uint8Array {
  // RFC 7468 allows headers only in legacy encrypted PEM; we do not read those.
  if (body.includes(":")) {
    throw new PkiError("INVALID_INPUT", `PEM "${label}" block has headers (legacy encrypted PEM is not supported).`);
  }
  const compact = body.replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 !== 0) {
    throw new PkiError("INVALID_INPUT", `PEM "${label}" block is not valid base64.`);
  }
  return new Uint8Array(Buffer.from(compact, "base64"));
}

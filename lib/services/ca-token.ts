// Adding CAs whose keys live on the PKCS#11 token: a new issuing CA with a key generated on the
// token, or an existing CA (root or issuing) whose key is already there, found by label or id and
// proven by a probe signature against its certificate. The CLI calls these (cli/main.ts).
import { transaction, db } from "../db";
import { AppError, notFound } from "../errors";
import { authorize, type Actor } from "../auth/roles";
import { appendAudit } from "./audit";
import { caSigner, forgetCaCache, type CaRecord } from "./cas";
import { caToken, destroyTokenKeys, generateTokenKey, tokenError, tokenSigner } from "./hsm";
import {
  certificateSerialHex,
  classifySpki,
  createIssuingCa,
  fingerprintSha256,
  isCaCertificate,
  isKeyAlgorithm,
  pemToDer,
  toX509Certificate,
  type KeyAlgorithm,
} from "../pki";
import { formatKeyRef } from "../pki/pkcs11";

const ZSLUG = /^[a-z0-9][a-z0-9-]{0,62}$/;

function checkSlug(slug: string) {
  if (!ZSLUG.test(slug)) throw new AppError("VALIDATION", `CA slug "${slug}" must be 1–63 lowercase letters, digits or "-" (it becomes part of public URLs).`, [{ path: "slug", message: "invalid slug" }]);
}

async function assertFree(slug: string, fingerprint?: string) {
  const clash = await db().certificateAuthority.findFirst({ where: { OR: [{ slug }, ...(fingerprint ? [{ fingerprint }] : [])] }, select: { slug: true } });
  if (clash) throw new AppError("CONFLICT", clash.slug === slug ? `A CA with slug "${slug}" exists already.` : `This certificate is already CA "${clash.slug}".`);
}

export interface CreateTokenIssuingCaInput {
  slug: string;
  name: string;
  /** Default: the parent's algorithm. */
  algorithm?: KeyAlgorithm;
  /** Slug of the parent CA (default "root"). */
  parent?: string;
  organization?: string;
}

/** A new issuing CA whose key is generated on the token (non-extractable, labelled certfleet-<slug>). */
export async function createTokenIssuingCa(actor: Actor, input: CreateTokenIssuingCaInput): Promise<CaRecord> {
  authorize(actor, "cas:write");
  checkSlug(input.slug);
  if (!input.name.trim()) throw new AppError("VALIDATION", "A CA name is required.", [{ path: "name", message: "required" }]);
  const parent = await db().certificateAuthority.findUnique({ where: { slug: input.parent ?? "root" } });
  if (!parent) throw notFound(`Parent CA "${input.parent ?? "root"}"`);
  if (parent.kind !== "root" || parent.status !== "active") throw new AppError("INVALID_STATE", `CA "${parent.slug}" is not an active root CA; issuing CAs are signed by a root.`);
  const algorithm = input.algorithm ?? parent.keyAlgorithm;
  if (!isKeyAlgorithm(algorithm)) throw new AppError("VALIDATION", `Unknown key algorithm "${algorithm}".`);
  await assertFree(input.slug);
  const parentSigner = await caSigner(parent);

  const key = await generateTokenKey(algorithm, input.slug);
  let recorded = false;
  try {
    const organization = input.organization ?? toX509Certificate(parent.certificateDer).subjectName.getField("O")[0];
    const ca = await createIssuingCa({
      parent: { certificate: parent.certificateDer, signer: parentSigner },
      subject: `CN=${input.name}${organization ? `, O=${organization}` : ""}`,
      signer: key.signer,
    }).catch((e) => {
      throw tokenError(e);
    });
    const row = await transaction(async (tx) => {
      const created = await tx.certificateAuthority.create({
        data: {
          slug: input.slug,
          name: input.name,
          kind: "issuing",
          parentId: parent.id,
          keyAlgorithm: ca.keyAlgorithm,
          subject: ca.subject,
          serialHex: ca.serialHex,
          notBefore: ca.notBefore,
          notAfter: ca.notAfter,
          fingerprint: ca.fingerprintSha256,
          certificateDer: new Uint8Array(ca.der),
          sealedKey: "",
          keyRef: key.keyRef,
        },
      });
      await appendAudit(tx, actor, { action: "ca.create", targetType: "ca", targetId: created.id, details: { slug: input.slug, subject: ca.subject, keyAlgorithm: ca.keyAlgorithm, notAfter: ca.notAfter, keyRef: key.keyRef } });
      return created;
    });
    recorded = true;
    forgetCaCache();
    return row;
  } finally {
    if (!recorded) await destroyTokenKeys([key.ref], (line) => console.error(line));
  }
}

export interface ImportTokenCaInput {
  slug: string;
  name: string;
  certificatePem: string;
  /** The private key on the token, by CKA_LABEL and/or CKA_ID (hex). */
  keyLabel?: string;
  keyIdHex?: string;
}

/**
 * Records an existing CA whose private key is already on the token. A self-signed certificate
 * becomes a root; any other must be signed by a root CertFleet knows (it becomes issuing under it).
 * Nothing is stored unless the token key signs a probe that the certificate's public key verifies.
 */
export async function importTokenCa(actor: Actor, input: ImportTokenCaInput): Promise<CaRecord> {
  authorize(actor, "cas:write");
  checkSlug(input.slug);
  if (!input.name.trim()) throw new AppError("VALIDATION", "A CA name is required.", [{ path: "name", message: "required" }]);
  if (!input.keyLabel && !input.keyIdHex) throw new AppError("VALIDATION", "Name the token key by --key-label or --key-id.", [{ path: "key", message: "required" }]);
  if (input.keyIdHex !== undefined && !/^([0-9a-fA-F]{2})+$/.test(input.keyIdHex)) throw new AppError("VALIDATION", `Key id "${input.keyIdHex}" is not hex bytes.`, [{ path: "keyId", message: "not hex" }]);
  let der: Uint8Array;
  let cert;
  try {
    der = pemToDer(input.certificatePem, "CERTIFICATE");
    cert = toX509Certificate(der);
  } catch {
    throw new AppError("VALIDATION", "The certificate is not a PEM X.509 certificate.", [{ path: "certificate", message: "not a certificate" }]);
  }
  if (!isCaCertificate(cert)) throw new AppError("VALIDATION", `"${cert.subject}" is not a CA certificate.`, [{ path: "certificate", message: "not a CA" }]);
  const keyClass = classifySpki(new Uint8Array(cert.publicKey.rawData));
  const keyAlgorithm = keyClass.keyAlgorithm;
  const fingerprint = fingerprintSha256(der);
  await assertFree(input.slug, fingerprint);

  const selfSigned = cert.subject === cert.issuer && (await cert.verify({ signatureOnly: true }));
  let parentId: string | null = null;
  if (!selfSigned) {
    const roots = await db().certificateAuthority.findMany({ where: { kind: "root", status: "active" } });
    for (const root of roots) {
      if (await cert.verify({ publicKey: toX509Certificate(root.certificateDer), signatureOnly: true })) parentId = root.id;
    }
    if (!parentId) throw new AppError("VALIDATION", `"${cert.subject}" is neither self-signed nor signed by a root CA CertFleet knows; import its root first.`, [{ path: "certificate", message: "unknown issuer" }]);
  }
  const token = caToken();
  const keyRef = formatKeyRef({ token: token.label, label: input.keyLabel, id: input.keyIdHex ? new Uint8Array(Buffer.from(input.keyIdHex, "hex")) : undefined });
  // Finds the key and proves it is the certificate's; throws TOKEN_UNAVAILABLE (503) otherwise.
  await tokenSigner({ slug: input.slug, keyAlgorithm, keyRef, certificateDer: der });

  const row = await transaction(async (tx) => {
    const created = await tx.certificateAuthority.create({
      data: {
        slug: input.slug,
        name: input.name,
        kind: selfSigned ? "root" : "issuing",
        parentId,
        keyAlgorithm,
        subject: cert.subject,
        serialHex: certificateSerialHex(cert),
        notBefore: cert.notBefore,
        notAfter: cert.notAfter,
        fingerprint,
        certificateDer: new Uint8Array(der),
        sealedKey: "",
        keyRef,
      },
    });
    await appendAudit(tx, actor, { action: "ca.import", targetType: "ca", targetId: created.id, details: { slug: input.slug, subject: cert.subject, keyAlgorithm, notAfter: cert.notAfter, keyRef } });
    return created;
  });
  forgetCaCache();
  return row;
}

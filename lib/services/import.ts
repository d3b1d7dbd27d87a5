// CSV fleet onboarding, one chunk of rows per call: a dry run that reports what would be created
// and what is wrong, and the import itself (optionally with a server-generated key and certificate
// per device, returned once). The browser drives the chunks and shows progress.
import { db, type Tx } from "../db";
import { authorize, type Actor } from "../auth/roles";
import { appendAudit, withAudit } from "./audit";
import { caChainPem, defaultIssuingCa } from "./cas";
import { signDeviceCertificate } from "./certificates";
import { issueAuditDetails, issuedItem, recordIssuedInTx } from "./issuance";
import { exportPkcs8, exportSpki, generateKeyPair, toPem, type KeyAlgorithm } from "../pki";
import { mapHeader, markDuplicates, validateImportRow, type ImportRowResult, type TImportChunk } from "../validation/import";
import { AppError } from "../errors";
import { reservedNameProblem } from "./reserved-names";

export interface ImportChunkResult {
  rows: ImportRowResult[];
  created: number;
  /** Only with credentials: one entry per created device. Never stored; shown once. */
  credentials?: { name: string; certificatePem: string; privateKeyPem: string; serialHex: string; notAfter: Date }[];
  chainPem?: string;
}

function validateChunk(chunk: TImportChunk): ImportRowResult[] {
  const { columns, errors } = mapHeader(chunk.header);
  if (errors.length) throw new AppError("VALIDATION", errors.join("; "), [{ path: "header", message: errors.join("; ") }]);
  const rows = chunk.rows.map((r) => validateImportRow(columns, r.cells, r.line));
  markDuplicates(rows);
  if (chunk.credentials) {
    // A row whose certificate would be refused is reported like any other bad row (in the dry
    // run too), instead of failing the whole chunk at signing.
    for (const r of rows) {
      const problem = r.errors.length ? null : reservedNameProblem(r.name, undefined);
      if (problem) r.errors.push({ field: "name", message: problem });
    }
  }
  return rows;
}

/** Flags rows whose name or external id is already taken in the database. */
async function markExisting(tx: Tx | ReturnType<typeof db>, rows: ImportRowResult[]): Promise<void> {
  const names = rows.filter((r) => r.name && !r.errors.length).map((r) => r.name);
  const extIds = rows.filter((r) => r.externalId && !r.errors.length).map((r) => r.externalId!);
  const [byName, byExt] = await Promise.all([
    names.length ? tx.device.findMany({ where: { name: { in: names } }, select: { name: true } }) : [],
    extIds.length ? tx.device.findMany({ where: { externalId: { in: extIds } }, select: { externalId: true } }) : [],
  ]);
  const takenNames = new Set(byName.map((d) => d.name));
  const takenExt = new Set(byExt.map((d) => d.externalId));
  for (const r of rows) {
    if (takenNames.has(r.name)) r.errors.push({ field: "name", message: "A device with this name already exists" });
    if (r.externalId && takenExt.has(r.externalId)) r.errors.push({ field: "external id", message: "A device with this external id already exists" });
  }
}

/** Dry run: validates the rows and checks them against the database; writes nothing. */
export async function previewImportChunk(actor: Actor, chunk: TImportChunk): Promise<ImportChunkResult> {
  authorize(actor, "devices:write");
  if (chunk.credentials) authorize(actor, "certificates:write");
  const rows = validateChunk(chunk);
  await markExisting(db(), rows);
  return { rows, created: 0 };
}

interface PreparedKey {
  spki: Uint8Array;
  pkcs8: Uint8Array;
  keyAlgorithm: KeyAlgorithm;
  keySource: "generated";
}

/**
 * Creates the valid rows of a chunk in one transaction (rows with errors are reported, not
 * created). Each device gets its own audit event, as if created one by one, plus one event for
 * the chunk.
 */
export async function importChunk(actor: Actor, chunk: TImportChunk): Promise<ImportChunkResult> {
  authorize(actor, "devices:write");
  if (chunk.credentials) authorize(actor, "certificates:write");
  const rows = validateChunk(chunk);
  await markExisting(db(), rows);
  const good = rows.filter((r) => !r.errors.length);

  // Keys and signatures are CPU work: done before the transaction so it stays short.
  const ca = chunk.credentials ? await defaultIssuingCa() : null;
  const signed = new Map<string, { key: PreparedKey; issued: Awaited<ReturnType<typeof signDeviceCertificate>> }>();
  if (ca && chunk.credentials) {
    for (const r of good) {
      const pair = await generateKeyPair(chunk.credentials.algorithm);
      const key: PreparedKey = { spki: await exportSpki(pair.publicKey), pkcs8: await exportPkcs8(pair.privateKey), keyAlgorithm: chunk.credentials.algorithm, keySource: "generated" };
      signed.set(r.name, { key, issued: await signDeviceCertificate({ ca, deviceName: r.name, key }) });
    }
  }

  try {
    const created = await withAudit(actor, async (tx) => {
      // Checked again inside the transaction: another import may have taken a name meanwhile.
      await markExisting(tx, good);
      const out: { name: string; id: string; serialHex?: string; notAfter?: Date; certificatePem?: string }[] = [];
      for (const r of good) {
        if (r.errors.length) continue;
        const device = await tx.device.create({
          data: {
            name: r.name,
            externalId: r.externalId,
            metadata: JSON.stringify(r.metadata ?? {}),
            tags: { create: r.tags.map((tag) => ({ tag })) },
          },
          select: { id: true, name: true },
        });
        await appendAudit(tx, actor, { action: "device.create", targetType: "device", targetId: device.id, details: { name: device.name, tags: r.tags, source: "import", line: r.line } });
        const s = signed.get(r.name);
        if (ca && s) {
          const item = issuedItem({ ca, deviceId: device.id, issued: s.issued, key: s.key }, (row) => ({
            actor,
            input: { action: "certificate.issue", targetType: "device", targetId: device.id, details: issueAuditDetails(row, ca.slug, { source: "import" }) },
          }));
          const cert = await recordIssuedInTx(tx, item);
          out.push({ name: device.name, id: device.id, serialHex: cert.serialHex, notAfter: cert.notAfter, certificatePem: toPem(cert.der, "CERTIFICATE") });
        } else out.push({ name: device.name, id: device.id });
      }
      return {
        result: out,
        audit: { action: "device.import", details: { created: out.length, rejected: rows.length - out.length, firstLine: rows[0]?.line, lastLine: rows[rows.length - 1]?.line, credentials: !!ca } },
      };
    });

    const result: ImportChunkResult = { rows, created: created.length };
    if (ca) {
      result.chainPem = await caChainPem(ca);
      result.credentials = created.map((c) => {
        const s = signed.get(c.name)!;
        return { name: c.name, certificatePem: c.certificatePem!, privateKeyPem: toPem(s.key.pkcs8, "PRIVATE KEY"), serialHex: c.serialHex!, notAfter: c.notAfter! };
      });
    }
    return result;
  } finally {
    for (const s of signed.values()) s.key.pkcs8.fill(0);
  }
}

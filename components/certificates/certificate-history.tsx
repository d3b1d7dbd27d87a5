// Every certificate a device has had, newest first, with a PEM download each.
import { Download } from "lucide-react";
import { Table, THead, Th, Tr, Td } from "@/components/ui/table";
import { formatDate, formatDateTime } from "@/components/ui/format";
import { Badge } from "@/components/ui/badge";
import { CertStateBadge } from "./cert-state-badge";

export interface HistoryRow {
  id: string;
  serialHex: string;
  status: string;
  notBefore: Date;
  notAfter: Date;
  keySource: string;
  keyAlgorithm: string;
  revokedAt: Date | null;
  revocationReason: string | null;
  pem: string;
}

export function CertificateHistory({ certificates, currentId }: { certificates: HistoryRow[]; currentId: string | null }) {
  return (
    <Table>
      <THead>
        <tr>
          <Th>Serial</Th>
          <Th>Status</Th>
          <Th>Valid from</Th>
          <Th>Valid to</Th>
          <Th>Key</Th>
          <Th>Revocation</Th>
          <Th><span className="sr-only">Download</span></Th>
        </tr>
      </THead>
      <tbody>
        {certificates.map((c) => (
          <Tr key={c.id} data-testid="history-row" data-serial={c.serialHex}>
            <Td className="font-mono text-xs text-zinc-700">
              <span title={c.serialHex}>{c.serialHex.slice(0, 16)}…</span>
              {c.id === currentId && <Badge tone="blue" className="ml-2">current</Badge>}
            </Td>
            <Td><CertStateBadge state={c.status === "revoked" && c.revocationReason === "certificateHold" ? "hold" : c.status} /></Td>
            <Td className="text-xs whitespace-nowrap text-zinc-600 tabular-nums">{formatDate(c.notBefore)}</Td>
            <Td className="text-xs whitespace-nowrap text-zinc-600 tabular-nums">{formatDate(c.notAfter)}</Td>
            <Td className="text-xs whitespace-nowrap text-zinc-600">{c.keyAlgorithm} · {c.keySource === "generated" ? "server" : "CSR"}</Td>
            <Td className="text-xs text-zinc-600">{c.revokedAt ? <span title={formatDateTime(c.revokedAt)}>{c.revocationReason} · {formatDate(c.revokedAt)}</span> : "—"}</Td>
            <Td className="text-right">
              <a
                href={`data:application/x-pem-file;base64,${Buffer.from(c.pem).toString("base64")}`}
                download={`${c.serialHex.slice(0, 16)}.crt.pem`}
                aria-label={`Download certificate ${c.serialHex.slice(0, 16)} as PEM`}
                className="inline-flex rounded p-1 text-zinc-500 hover:bg-zinc-100 hover:text-zinc-900"
              >
                <Download className="size-4" aria-hidden="true" />
              </a>
            </Td>
          </Tr>
        ))}
      </tbody>
    </Table>
  );
}

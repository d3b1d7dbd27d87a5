"use client";
// Shows a freshly issued credential once. A server-generated private key (PEM or PKCS#12) lives
// only in this component's memory: it is offered for download and forgotten when the dialog closes.
import { useState } from "react";
import { Download, TriangleAlert } from "lucide-react";
import { Dialog } from "@/components/ui/dialog";
import { Button } from "@/components/ui/button";
import { CopyButton } from "@/components/ui/copy-button";
import { base64ToBytes, downloadBlob } from "@/components/ui/download";
import { formatDate, formatDateTime } from "@/components/ui/format";

export interface IssuedCredentialView {
  certificate: { serialHex: string; notAfter: Date; notBefore: Date; keySource: string; keyAlgorithm: string; subject: string };
  certificatePem: string;
  chainPem: string;
  privateKeyPem?: string;
  pkcs12Base64?: string;
}

export function CredentialDialog({ credential, deviceName, title, onClose }: { credential: IssuedCredentialView; deviceName: string; title: string; onClose: () => void }) {
  const hasKey = !!(credential.privateKeyPem || credential.pkcs12Base64);
  const [keySaved, setKeySaved] = useState(false);
  const [warn, setWarn] = useState(false);
  const base = `${deviceName}-${credential.certificate.serialHex.slice(0, 8)}`;
  const pem = "application/x-pem-file";

  const close = () => {
    if (hasKey && !keySaved && !warn) {
      setWarn(true);
      return;
    }
    onClose();
  };

  return (
    <Dialog
      open
      onClose={close}
      size="lg"
      title={title}
      description={
        <>
          Serial <span className="font-mono text-zinc-700">{credential.certificate.serialHex}</span> · valid until {formatDateTime(credential.certificate.notAfter)}
        </>
      }
      footer={
        <Button variant={warn ? "destructive" : "primary"} onClick={close} data-testid="credential-close">
          {warn ? "Close and discard the key" : "Done"}
        </Button>
      }
    >
      <div className="space-y-4 text-sm" data-testid="credential-dialog">
        {hasKey && (
          <div className={`flex gap-3 rounded-lg border p-3 ${warn ? "border-red-300 bg-red-50 text-red-800" : "border-amber-200 bg-amber-50 text-amber-900"}`} role={warn ? "alert" : undefined}>
            <TriangleAlert className="mt-0.5 size-4 shrink-0" aria-hidden="true" />
            <div>
              <p className="font-medium">{warn ? "The private key has not been downloaded." : "The private key is shown only now."}</p>
              <p className="mt-0.5 text-xs">CertFleet does not keep it. Download it and install it on {deviceName}; after closing this dialog it cannot be shown again (renew with a new key instead).</p>
            </div>
          </div>
        )}

        <div className="grid gap-2 sm:grid-cols-2">
          {credential.privateKeyPem && (
            <Button
              variant="primary"
              onClick={() => {
                downloadBlob(credential.privateKeyPem!, `${base}.key.pem`, pem);
                setKeySaved(true);
              }}
              data-testid="download-key"
            >
              <Download aria-hidden="true" /> Private key (.key.pem)
            </Button>
          )}
          {credential.pkcs12Base64 && (
            <Button
              variant="primary"
              onClick={() => {
                downloadBlob(base64ToBytes(credential.pkcs12Base64!), `${base}.p12`, "application/x-pkcs12");
                setKeySaved(true);
              }}
              data-testid="download-p12"
            >
              <Download aria-hidden="true" /> PKCS#12 bundle (.p12)
            </Button>
          )}
          {credential.privateKeyPem && (
            <Button
              variant="secondary"
              onClick={() => {
                downloadBlob(credential.privateKeyPem! + credential.certificatePem + credential.chainPem, `${base}.bundle.pem`, pem);
                setKeySaved(true);
              }}
            >
              <Download aria-hidden="true" /> Key + certificate + chain
            </Button>
          )}
          <Button variant="secondary" onClick={() => downloadBlob(credential.certificatePem, `${base}.crt.pem`, pem)}>
            <Download aria-hidden="true" /> Certificate (.crt.pem)
          </Button>
          <Button variant="secondary" onClick={() => downloadBlob(credential.chainPem, `${base}.chain.pem`, pem)}>
            <Download aria-hidden="true" /> CA chain (.pem)
          </Button>
        </div>

        <dl className="grid grid-cols-[8rem_1fr] gap-x-3 gap-y-1.5 text-xs">
          <dt className="text-zinc-500">Subject</dt>
          <dd className="font-mono break-all text-zinc-800">{credential.certificate.subject}</dd>
          <dt className="text-zinc-500">Valid</dt>
          <dd className="text-zinc-800">{formatDate(credential.certificate.notBefore)} → {formatDate(credential.certificate.notAfter)}</dd>
          <dt className="text-zinc-500">Key</dt>
          <dd className="text-zinc-800">{credential.certificate.keyAlgorithm} · {credential.certificate.keySource === "generated" ? "generated by CertFleet" : "device's own (CSR)"}</dd>
        </dl>

        <details className="rounded-md border border-zinc-200">
          <summary className="cursor-pointer px-3 py-2 text-xs font-medium text-zinc-700">Certificate PEM</summary>
          <div className="relative border-t border-zinc-200">
            <CopyButton value={credential.certificatePem} label="Copy certificate PEM" className="absolute top-2 right-2" />
            <pre className="max-h-48 overflow-auto p-3 font-mono text-[11px] leading-snug text-zinc-700">{credential.certificatePem}</pre>
          </div>
        </details>
      </div>
    </Dialog>
  );
}

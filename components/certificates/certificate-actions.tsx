"use client";
// Renew / renew with a new key / revoke / release hold for a device's current certificate.
import { useId, useState, useTransition } from "react";
import { useRouter } from "next/navigation";
import { KeyRound, RefreshCw, ShieldCheck, ShieldX } from "lucide-react";
import { Button } from "@/components/ui/button";
import { Dialog } from "@/components/ui/dialog";
import { ConfirmDialog } from "@/components/ui/confirm-dialog";
import { controlClasses, FormError } from "@/components/ui/field";
import { useToast } from "@/components/ui/toast";
import { formatDate } from "@/components/ui/format";
import { cn } from "@/components/ui/cn";
import type { BoundAction } from "@/lib/auth/action";
import type { TRenewCertificate, TRevokeReason } from "@/lib/validation/certificates";
import { CredentialDialog, type IssuedCredentialView } from "./credential-dialog";
import { REASON_HELP, REASON_LABELS, REVOKE_REASON_LIST } from "./revocation-reasons";

/** The certificate's actions, its id bound by the page. */
export interface CertificateActionsProps {
  renew: BoundAction<Partial<TRenewCertificate>, IssuedCredentialView>;
  revoke: BoundAction<{ reason: TRevokeReason }, unknown>;
  unhold: BoundAction<void, unknown>;
}

interface Props {
  actions: CertificateActionsProps;
  serialHex: string;
  deviceName: string;
  keySource: string;
  status: string;
  onHold: boolean;
  /** Only active devices get new certificates; a disabled one can still be revoked. */
  deviceActive: boolean;
}

export function CertificateActions({ actions, serialHex, deviceName, keySource, status, onHold, deviceActive }: Props) {
  const router = useRouter();
  const toast = useToast();
  const [renewing, startRenew] = useTransition();
  const [credential, setCredential] = useState<IssuedCredentialView | null>(null);
  const [rekeyOpen, setRekeyOpen] = useState(false);
  const [revokeOpen, setRevokeOpen] = useState(false);
  const [unholdOpen, setUnholdOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const canRenew = deviceActive && (status === "active" || status === "expired");

  function renew() {
    startRenew(async () => {
      const res = await actions.renew(null, { rekey: false, revokeOld: false, format: "pem" });
      if (res?.ok) {
        toast({ tone: "success", title: "Certificate renewed", description: `New serial ${res.data.certificate.serialHex.slice(0, 16)}…, valid until ${formatDate(res.data.certificate.notAfter)}.` });
        router.refresh();
      } else toast({ tone: "error", title: "Renewal failed", description: res?.error });
    });
  }

  async function unhold() {
    setBusy(true);
    const res = await actions.unhold(null);
    setBusy(false);
    setUnholdOpen(false);
    if (res?.ok) {
      toast({ tone: "success", title: "Hold released", description: "The certificate is valid again and leaves the CRL." });
      router.refresh();
    } else toast({ tone: "error", title: "Could not release the hold", description: res?.error });
  }

  return (
    <div className="flex flex-wrap gap-2">
      {canRenew && (
        <Button onClick={renew} pending={renewing} data-testid="renew">
          {!renewing && <RefreshCw aria-hidden="true" />} Renew
        </Button>
      )}
      {canRenew && keySource === "generated" && (
        <Button variant="secondary" onClick={() => setRekeyOpen(true)}>
          <KeyRound aria-hidden="true" /> Renew with new key…
        </Button>
      )}
      {onHold && (
        <Button variant="secondary" onClick={() => setUnholdOpen(true)}>
          <ShieldCheck aria-hidden="true" /> Release hold
        </Button>
      )}
      {(status !== "revoked" || onHold) && (
        <Button variant="outline-destructive" onClick={() => setRevokeOpen(true)} data-testid="revoke">
          <ShieldX aria-hidden="true" /> Revoke…
        </Button>
      )}

      {rekeyOpen && (
        <RekeyDialog
          renew={actions.renew}
          onClose={() => setRekeyOpen(false)}
          onIssued={(c) => {
            setRekeyOpen(false);
            setCredential(c);
            router.refresh();
          }}
        />
      )}
      {revokeOpen && <RevokeDialog revoke={actions.revoke} serialHex={serialHex} deviceName={deviceName} onHold={onHold} onClose={() => setRevokeOpen(false)} />}
      <ConfirmDialog
        open={unholdOpen}
        onClose={() => setUnholdOpen(false)}
        onConfirm={unhold}
        pending={busy}
        title="Release the hold?"
        description={`Certificate ${serialHex.slice(0, 16)}… becomes valid again: it leaves the CRL and OCSP answers "good".`}
        confirmLabel="Release hold"
      />
      {credential && <CredentialDialog credential={credential} deviceName={deviceName} title="Certificate renewed with a new key" onClose={() => setCredential(null)} />}
    </div>
  );
}

function RekeyDialog({ renew, onClose, onIssued }: { renew: CertificateActionsProps["renew"]; onClose: () => void; onIssued: (c: IssuedCredentialView) => void }) {
  const [format, setFormat] = useState<"pem" | "pkcs12">("pem");
  const [password, setPassword] = useState("");
  const [revokeOld, setRevokeOld] = useState(false);
  const [error, setError] = useState<{ message: string; fields: Record<string, string> } | null>(null);
  const [pending, start] = useTransition();
  const pwId = useId();

  function submit(e: React.FormEvent) {
    e.preventDefault();
    start(async () => {
      const res = await renew(null, { rekey: true, revokeOld, format, password: format === "pkcs12" ? password : undefined });
      if (res?.ok) onIssued(res.data);
      else setError({ message: res?.error ?? "Renewal failed", fields: res?.fieldErrors ?? {} });
    });
  }

  const pwError = error?.fields["request.password"];
  return (
    <Dialog open onClose={onClose} busy={pending} title="Renew with a new key" description="CertFleet generates a new key pair, issues a certificate for it and shows the key once.">
      <form onSubmit={submit} className="space-y-4 text-sm" id="rekey-form">
        <fieldset className="space-y-2">
          <legend className="text-xs font-medium text-zinc-700">Deliver the key as</legend>
          <label className="flex items-center gap-2">
            <input type="radio" name="format" value="pem" checked={format === "pem"} onChange={() => setFormat("pem")} className="accent-zinc-900" /> PEM (private key, certificate, chain)
          </label>
          <label className="flex items-center gap-2">
            <input type="radio" name="format" value="pkcs12" checked={format === "pkcs12"} onChange={() => setFormat("pkcs12")} className="accent-zinc-900" /> PKCS#12 (.p12) under a password
          </label>
        </fieldset>
        {format === "pkcs12" && (
          <div className="space-y-1">
            <label htmlFor={pwId} className="text-xs font-medium text-zinc-700">PKCS#12 password</label>
            <input id={pwId} type="password" value={password} onChange={(e) => setPassword(e.target.value)} minLength={8} required autoComplete="new-password" aria-invalid={!!pwError} aria-describedby={pwError ? `${pwId}-err` : undefined} className={cn(controlClasses, "h-8")} />
            {pwError && <p id={`${pwId}-err`} className="text-xs text-red-600">{pwError}</p>}
          </div>
        )}
        <label className="flex items-start gap-2">
          <input type="checkbox" checked={revokeOld} onChange={(e) => setRevokeOld(e.target.checked)} className="mt-0.5 accent-zinc-900" />
          <span>
            Revoke the old certificate now <span className="text-zinc-500">(reason superseded; otherwise it stays valid until it expires)</span>
          </span>
        </label>
        {error && !pwError && <FormError message={error.message} />}
        <div className="flex justify-end gap-2">
          <Button variant="secondary" onClick={onClose} disabled={pending}>Cancel</Button>
          <Button type="submit" pending={pending}>Renew with new key</Button>
        </div>
      </form>
    </Dialog>
  );
}

function RevokeDialog({ revoke, serialHex, deviceName, onHold, onClose }: { revoke: CertificateActionsProps["revoke"]; serialHex: string; deviceName: string; onHold: boolean; onClose: () => void }) {
  const router = useRouter();
  const toast = useToast();
  const [reason, setReason] = useState<TRevokeReason | "">("");
  const [error, setError] = useState<string | null>(null);
  const [pending, start] = useTransition();
  const id = useId();
  const reasons = onHold ? REVOKE_REASON_LIST.filter((r) => r !== "certificateHold") : REVOKE_REASON_LIST;

  function submit() {
    if (!reason) {
      setError("Choose a reason");
      return;
    }
    start(async () => {
      const res = await revoke(null, { reason });
      if (res?.ok) {
        toast({ tone: "success", title: reason === "certificateHold" ? "Certificate on hold" : "Certificate revoked", description: `${deviceName}: serial ${serialHex.slice(0, 16)}… is on the CRL from now on (${REASON_LABELS[reason]}).` });
        onClose();
        router.refresh();
      } else setError(res?.error ?? "Revocation failed");
    });
  }

  return (
    <Dialog
      open
      onClose={onClose}
      busy={pending}
      title={onHold ? "Make the hold permanent" : "Revoke certificate"}
      description={<>The certificate of <strong className="text-zinc-700">{deviceName}</strong> (serial <span className="font-mono">{serialHex.slice(0, 16)}…</span>) will be listed on the CRL and answered “revoked” by OCSP at once. Brokers refuse it at their next CRL refresh.</>}
      footer={
        <>
          <Button variant="secondary" onClick={onClose} disabled={pending}>Cancel</Button>
          <Button variant="destructive" onClick={submit} pending={pending} disabled={!reason} data-testid="revoke-confirm">
            {reason === "certificateHold" ? "Put on hold" : "Revoke certificate"}
          </Button>
        </>
      }
    >
      <div className="space-y-2 text-sm">
        <label htmlFor={id} className="text-xs font-medium text-zinc-700">Reason</label>
        <select id={id} value={reason} onChange={(e) => { setReason(e.target.value as TRevokeReason); setError(null); }} className={cn(controlClasses, "h-8")} aria-invalid={!!error && !reason} data-testid="revoke-reason">
          <option value="" disabled>Choose a reason…</option>
          {reasons.map((r) => (
            <option key={r} value={r}>{REASON_LABELS[r]}</option>
          ))}
        </select>
        <p className="text-xs text-zinc-500">{reason ? REASON_HELP[reason] : "The reason is published in the CRL entry."}</p>
        {reason && reason !== "certificateHold" && <p className="rounded-md bg-red-50 px-3 py-2 text-xs text-red-700">This cannot be undone. The device needs a new certificate to connect again.</p>}
        <FormError message={error} />
      </div>
    </Dialog>
  );
}

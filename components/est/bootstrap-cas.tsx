"use client";
// CAs page, EST: the bootstrap (manufacturer) CAs whose certificates may enroll devices without a
// person — register one (PEM pasted or uploaded), attach its CRL, remove it. Same services as
// /api/v1/bootstrap-cas.
import { useActionState, useId, useState, useTransition } from "react";
import { useRouter } from "next/navigation";
import { Factory, Plus, Trash2, Upload } from "lucide-react";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { ConfirmDialog } from "@/components/ui/confirm-dialog";
import { Dialog } from "@/components/ui/dialog";
import { EmptyState } from "@/components/ui/empty-state";
import { controlClasses, FormError, SelectField, TextField } from "@/components/ui/field";
import { formatDateTime, formatHex } from "@/components/ui/format";
import { useToast } from "@/components/ui/toast";
import { useActionResult } from "@/components/ui/use-action-result";
import { cn } from "@/components/ui/cn";
import type { BoundAction } from "@/lib/auth/action";
import type { BootstrapCaView } from "@/lib/services/est";

export type BootstrapCaRow = Pick<BootstrapCaView, "id" | "name" | "subject" | "fingerprint" | "lookup" | "allowCreate" | "tags" | "status" | "crl">;

export interface BootstrapCaActions {
  register: BoundAction<FormData, { id: string; name: string }>;
  /** Each bound to the bootstrap CA's id by the page. */
  remove: Record<string, BoundAction<void, { id: string; name: string }>>;
  attachCrl: Record<string, BoundAction<FormData, { name: string; revoked: number }>>;
}

const LOOKUPS: Record<string, string> = {
  "cn-as-name": "CN is the device name",
  "cn-as-external-id": "CN is the device's external id",
  serial: "Subject serialNumber is the external id",
};

export function BootstrapCas({ rows, actions, canWrite, nowMs }: { rows: BootstrapCaRow[]; actions: BootstrapCaActions; canWrite: boolean; nowMs: number }) {
  const [registerOpen, setRegisterOpen] = useState(false);
  const [formKey, setFormKey] = useState(0);
  return (
    <div className="space-y-3" data-testid="bootstrap-cas">
      {rows.length ? (
        <ul className="divide-y divide-zinc-100">
          {rows.map((row) => (
            <BootstrapCaItem key={row.id} row={row} canWrite={canWrite} remove={actions.remove[row.id]} attachCrl={actions.attachCrl[row.id]} nowMs={nowMs} />
          ))}
        </ul>
      ) : (
        <EmptyState className="py-6" icon={<Factory />} title="No bootstrap CA" description="Register a manufacturer (IDevID) CA so devices enroll with their factory certificate, without a person." />
      )}
      {canWrite && (
        <div className="px-4 pb-4">
          <Button size="xs" variant="secondary" onClick={() => setRegisterOpen(true)} data-testid="bootstrap-register">
            <Plus aria-hidden="true" /> Register bootstrap CA
          </Button>
          <Dialog open={registerOpen} onClose={() => setRegisterOpen(false)} size="lg" title="Register a bootstrap CA" description="A manufacturer CA: a TLS client certificate it signed may enroll its device over EST.">
            <RegisterForm
              key={formKey}
              submit={actions.register}
              onDone={() => {
                setRegisterOpen(false);
                setFormKey((k) => k + 1);
              }}
            />
          </Dialog>
        </div>
      )}
    </div>
  );
}

function BootstrapCaItem({ row, canWrite, remove, attachCrl, nowMs }: { row: BootstrapCaRow; canWrite: boolean; remove?: BootstrapCaActions["remove"][string]; attachCrl?: BootstrapCaActions["attachCrl"][string]; nowMs: number }) {
  const router = useRouter();
  const toast = useToast();
  const [confirm, setConfirm] = useState(false);
  const [crlOpen, setCrlOpen] = useState(false);
  const [pending, start] = useTransition();
  const stale = row.crl && row.crl.nextUpdate.getTime() <= nowMs;
  return (
    <li className="space-y-2 px-4 py-3 text-sm" data-testid={`bootstrap-ca-${row.name}`}>
      <div className="flex flex-wrap items-start justify-between gap-2">
        <div className="min-w-0">
          <p className="flex flex-wrap items-center gap-2 font-medium text-zinc-900">
            {row.name}
            {row.status !== "active" && <Badge>{row.status}</Badge>}
            {row.allowCreate && <Badge tone="blue">creates unknown devices</Badge>}
          </p>
          <p className="font-mono text-xs break-all text-zinc-600">{row.subject}</p>
        </div>
        {canWrite && remove && attachCrl && (
          <div className="flex gap-2">
            <Button size="xs" variant="secondary" onClick={() => setCrlOpen(true)} data-testid={`bootstrap-crl-${row.name}`}>
              <Upload aria-hidden="true" /> {row.crl ? "Replace CRL" : "Attach CRL"}
            </Button>
            <Button size="xs" variant="outline-destructive" onClick={() => setConfirm(true)} data-testid={`bootstrap-delete-${row.name}`}>
              <Trash2 aria-hidden="true" /> Remove
            </Button>
          </div>
        )}
      </div>
      <dl className="grid grid-cols-[7rem_1fr] gap-x-3 gap-y-1 text-xs">
        <dt className="text-zinc-500">Finds device by</dt>
        <dd className="text-zinc-800">{LOOKUPS[row.lookup] ?? row.lookup}</dd>
        {row.allowCreate && (
          <>
            <dt className="text-zinc-500">New devices get</dt>
            <dd className="text-zinc-800">{row.tags.length ? row.tags.join(", ") : "no tags"}</dd>
          </>
        )}
        <dt className="text-zinc-500">CRL</dt>
        <dd className={stale ? "text-red-700" : "text-zinc-800"} data-testid={`bootstrap-crl-state-${row.name}`}>
          {row.crl ? (
            <>
              {row.crl.revoked} revoked · next update {formatDateTime(row.crl.nextUpdate)}
              {stale && " — stale: its certificates are refused until a current CRL is attached"}
            </>
          ) : (
            "none attached (revocation not checked)"
          )}
        </dd>
        <dt className="text-zinc-500">SHA-256</dt>
        <dd className="font-mono text-[11px] break-all text-zinc-700">{formatHex(row.fingerprint)}</dd>
      </dl>
      {attachCrl && (
        <Dialog open={crlOpen} onClose={() => setCrlOpen(false)} title={`CRL of ${row.name}`} description="Signed by this CA, with a nextUpdate. Certificates it lists can no longer enroll.">
          <CrlForm submit={attachCrl} onDone={() => setCrlOpen(false)} />
        </Dialog>
      )}
      <ConfirmDialog
        open={confirm}
        onClose={() => setConfirm(false)}
        pending={pending}
        destructive
        title={`Remove bootstrap CA ${row.name}?`}
        description="Its certificates can no longer enroll devices. Devices it enrolled keep their certificates and re-enroll as before."
        confirmLabel="Remove"
        onConfirm={() =>
          start(async () => {
            const res = await remove!(null, undefined);
            setConfirm(false);
            if (res?.ok) {
              toast({ tone: "success", title: `Bootstrap CA ${res.data.name} removed` });
              router.refresh();
            } else toast({ tone: "error", title: "Could not remove the bootstrap CA", description: res?.error });
          })
        }
      />
    </li>
  );
}

/** A PEM pasted, or a file read here: PEM text as is, anything else (DER) as base64. */
function PemOrFile({ id, name, label, placeholder, error }: { id: string; name: string; label: string; placeholder: string; error?: string }) {
  const [value, setValue] = useState("");
  const fileId = useId();
  async function onFile(file: File | undefined) {
    if (!file) return;
    const bytes = new Uint8Array(await file.arrayBuffer());
    const text = new TextDecoder().decode(bytes);
    if (text.includes("-----BEGIN")) setValue(text);
    else {
      let binary = "";
      for (const b of bytes) binary += String.fromCharCode(b);
      setValue(btoa(binary));
    }
  }
  return (
    <div className="space-y-1">
      <div className="flex items-center justify-between gap-2">
        <label htmlFor={id} className="text-xs font-medium text-zinc-700">{label}</label>
        <label htmlFor={fileId} className="cursor-pointer text-xs text-zinc-700 underline hover:text-zinc-900">
          Upload a file…
          <input id={fileId} type="file" className="sr-only" onChange={(e) => void onFile(e.target.files?.[0])} />
        </label>
      </div>
      <textarea
        id={id}
        name={name}
        value={value}
        onChange={(e) => setValue(e.target.value)}
        rows={6}
        required
        placeholder={placeholder}
        spellCheck={false}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? `${id}-error` : undefined}
        className={cn(controlClasses, "py-2 font-mono text-xs")}
      />
      {error && <p id={`${id}-error`} className="text-xs text-red-600">{error}</p>}
    </div>
  );
}

function RegisterForm({ submit, onDone }: { submit: BootstrapCaActions["register"]; onDone: () => void }) {
  const [state, action, pending] = useActionState(submit, null);
  const router = useRouter();
  const toast = useToast();
  const errors = state && !state.ok ? state.fieldErrors : {};
  useActionResult(state, (s) => {
    if (!s.ok) return;
    toast({ tone: "success", title: `Bootstrap CA ${s.data.name} registered`, description: "Its certificates may enroll within a few seconds." });
    onDone();
    router.refresh();
  });
  const fieldError = Object.keys(errors).some((k) => ["name", "certificatePem", "lookup", "tags"].includes(k));
  return (
    <form action={action} className="space-y-3" aria-label="Register a bootstrap CA">
      <TextField id="bootstrap-name" name="name" label="Name" required placeholder="acme-idevid" error={errors.name} autoComplete="off" />
      <PemOrFile id="bootstrap-pem" name="certificatePem" label="CA certificate (PEM)" placeholder="-----BEGIN CERTIFICATE-----" error={errors.certificatePem} />
      <SelectField id="bootstrap-lookup" name="lookup" label="How a certificate finds its device" defaultValue="cn-as-name" error={errors.lookup}>
        {Object.entries(LOOKUPS).map(([value, label]) => (
          <option key={value} value={value}>{label}</option>
        ))}
      </SelectField>
      <label className="flex items-center gap-2 text-sm text-zinc-800">
        <input type="checkbox" name="allowCreate" className="accent-zinc-900" /> Create unknown devices on their first enrollment
      </label>
      <TextField id="bootstrap-tags" name="tags" label="Tags for created devices" placeholder="factory, line-3" hint="Comma- or space-separated." error={errors.tags} autoComplete="off" />
      {state && !state.ok && !fieldError && <FormError message={state.error} />}
      <div className="flex justify-end">
        <Button type="submit" pending={pending} data-testid="bootstrap-submit">Register</Button>
      </div>
    </form>
  );
}

function CrlForm({ submit, onDone }: { submit: BootstrapCaActions["attachCrl"][string]; onDone: () => void }) {
  const [state, action, pending] = useActionState(submit, null);
  const router = useRouter();
  const toast = useToast();
  const errors = state && !state.ok ? state.fieldErrors : {};
  useActionResult(state, (s) => {
    if (!s.ok) return;
    toast({ tone: "success", title: `CRL attached to ${s.data.name}`, description: `${s.data.revoked} certificate${s.data.revoked === 1 ? "" : "s"} revoked.` });
    onDone();
    router.refresh();
  });
  return (
    <form action={action} className="space-y-3" aria-label="Attach a CRL">
      <PemOrFile id="bootstrap-crl" name="crl" label="CRL (PEM or DER file)" placeholder="-----BEGIN X509 CRL-----" error={errors.crl} />
      {state && !state.ok && !errors.crl && <FormError message={state.error} />}
      <div className="flex justify-end">
        <Button type="submit" pending={pending} data-testid="bootstrap-crl-submit">Attach CRL</Button>
      </div>
    </form>
  );
}

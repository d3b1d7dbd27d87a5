"use client";
// A CA whose key lives on the PKCS#11 token: generate a new issuing CA's key there, or record a CA
// whose key is already on it (found by label or id, proven by a probe signature).
import { useActionState, useState } from "react";
import { useRouter } from "next/navigation";
import { KeyRound } from "lucide-react";
import { Button } from "@/components/ui/button";
import { Dialog } from "@/components/ui/dialog";
import { FormError, SelectField, TextareaField, TextField } from "@/components/ui/field";
import { useToast } from "@/components/ui/toast";
import { useActionResult } from "@/components/ui/use-action-result";
import type { BoundAction } from "@/lib/auth/action";

type TokenCaAction = BoundAction<FormData, { slug: string; kind: string }>;

export function TokenCaDialog({ submit, tokenLabel }: { submit: TokenCaAction; tokenLabel: string }) {
  const [open, setOpen] = useState(false);
  const [formKey, setFormKey] = useState(0);
  return (
    <>
      <Button variant="secondary" onClick={() => setOpen(true)} data-testid="token-ca">
        <KeyRound aria-hidden="true" /> CA on the token
      </Button>
      <Dialog open={open} onClose={() => setOpen(false)} title="CA with its key on the token" description={<>PKCS#11 token <span className="font-mono">{tokenLabel}</span>: the key never leaves it.</>} size="lg">
        <TokenCaForm
          key={formKey}
          submit={submit}
          onDone={() => {
            setOpen(false);
            setFormKey((k) => k + 1);
          }}
        />
      </Dialog>
    </>
  );
}

function TokenCaForm({ submit, onDone }: { submit: TokenCaAction; onDone: () => void }) {
  const [mode, setMode] = useState<"create" | "import">("create");
  const [state, action, pending] = useActionState(submit, null);
  const router = useRouter();
  const toast = useToast();
  const errors = state && !state.ok ? state.fieldErrors : {};

  useActionResult(state, (s) => {
    if (!s.ok) return;
    toast({ tone: "success", title: `CA ${s.data.slug} recorded`, description: s.data.kind === "issuing" ? "It can issue device certificates now." : undefined });
    onDone();
    router.refresh();
  });

  return (
    <form action={action} className="space-y-3" aria-label="CA on the token">
      <fieldset className="flex gap-4 text-sm">
        <legend className="sr-only">What to do</legend>
        {(["create", "import"] as const).map((m) => (
          <label key={m} className="flex items-center gap-1.5">
            <input type="radio" name="mode" value={m} checked={mode === m} onChange={() => setMode(m)} className="accent-zinc-900" />
            {m === "create" ? "New issuing CA, key generated on the token" : "Existing CA, key already on the token"}
          </label>
        ))}
      </fieldset>
      <TextField id="token-ca-slug" name="slug" label="Slug" required placeholder="issuing-2" error={errors.slug} hint="Part of the public CRL, OCSP and CA URLs; never changes." autoComplete="off" spellCheck={false} />
      <TextField id="token-ca-name" name="name" label="Name" required placeholder="CertFleet Issuing CA 2" error={errors.name} autoComplete="off" />
      {mode === "create" ? (
        <SelectField id="token-ca-algorithm" name="algorithm" label="Key algorithm" error={errors.algorithm} defaultValue="">
          <option value="">Same as the root</option>
          <option value="EC-P256">EC P-256</option>
          <option value="EC-P384">EC P-384</option>
          <option value="RSA-2048">RSA 2048</option>
          <option value="RSA-3072">RSA 3072</option>
          <option value="RSA-4096">RSA 4096</option>
        </SelectField>
      ) : (
        <>
          <TextareaField id="token-ca-cert" name="certificatePem" label="CA certificate (PEM)" required rows={6} error={errors.certificatePem ?? errors.certificate} className="font-mono text-xs" placeholder="-----BEGIN CERTIFICATE-----" spellCheck={false} />
          <div className="grid gap-3 sm:grid-cols-2">
            <TextField id="token-ca-key-label" name="keyLabel" label="Key label (CKA_LABEL)" error={errors.keyLabel ?? errors.key} autoComplete="off" spellCheck={false} />
            <TextField id="token-ca-key-id" name="keyId" label="Key id (CKA_ID, hex)" error={errors.keyId} autoComplete="off" spellCheck={false} />
          </div>
        </>
      )}
      {state && !state.ok && <FormError message={state.error} />}
      <div className="flex justify-end gap-2 pt-2">
        <Button type="submit" pending={pending} data-testid="token-ca-submit">{mode === "create" ? "Create CA" : "Import CA"}</Button>
      </div>
    </form>
  );
}

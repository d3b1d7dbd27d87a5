"use client";
import { useActionState, useState } from "react";
import { useRouter } from "next/navigation";
import { Plus } from "lucide-react";
import { Button } from "@/components/ui/button";
import { Dialog } from "@/components/ui/dialog";
import { FormError, TextField } from "@/components/ui/field";
import { useToast } from "@/components/ui/toast";
import { useActionResult } from "@/components/ui/use-action-result";
import type { BoundAction } from "@/lib/auth/action";

type CreateDevice = BoundAction<FormData, { id: string; name: string }>;

export function NewDeviceDialog({ create }: { create: CreateDevice }) {
  const [open, setOpen] = useState(false);
  const [formKey, setFormKey] = useState(0);
  return (
    <>
      <Button onClick={() => setOpen(true)}>
        <Plus aria-hidden="true" /> New device
      </Button>
      <Dialog open={open} onClose={() => setOpen(false)} title="New device" description="Certificates and a PSK can be added on the device's page.">
        <NewDeviceForm
          key={formKey}
          create={create}
          onCreated={() => {
            setOpen(false);
            setFormKey((k) => k + 1);
          }}
        />
      </Dialog>
    </>
  );
}

function NewDeviceForm({ create, onCreated }: { create: CreateDevice; onCreated: () => void }) {
  const [state, action, pending] = useActionState(create, null);
  const router = useRouter();
  const toast = useToast();
  const errors = state && !state.ok ? state.fieldErrors : {};

  useActionResult(state, (s) => {
    if (!s.ok) return;
    toast({ tone: "success", title: `Created ${s.data.name}` });
    onCreated();
    router.push(`/devices/${s.data.id}`);
  });

  return (
    <form action={action} className="space-y-3" aria-label="New device">
      <TextField id="new-name" name="name" label="Name" required autoFocus placeholder="sensor-berlin-0042" error={errors.name} hint="Becomes the certificate's common name and the PSK identity." autoComplete="off" spellCheck={false} />
      <TextField id="new-external-id" name="externalId" label="External id (optional)" error={errors.externalId} placeholder="Serial number, asset tag…" autoComplete="off" />
      <TextField id="new-tags" name="tags" label="Tags (optional)" error={errors.tags ?? errors["tags.0"]} placeholder="sensor, site:berlin" hint="Comma separated." autoComplete="off" />
      {state && !state.ok && !Object.keys(errors).length && <FormError message={state.error} />}
      <div className="flex justify-end gap-2 pt-2">
        <Button type="submit" pending={pending}>Create device</Button>
      </div>
    </form>
  );
}

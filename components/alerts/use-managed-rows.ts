"use client";
// State both notification tables share: the "new" dialog, the row awaiting delete confirmation,
// and enable/disable/delete through their bound actions with a toast and a refresh.
import { useState, useTransition } from "react";
import { useRouter } from "next/navigation";
import { useToast } from "@/components/ui/toast";
import type { ActionState } from "@/lib/auth/action";

interface Row {
  id: string;
  name: string;
  enabled: boolean;
}

export function useManagedRows<R extends Row>(what: string, actions: { setEnabled: (id: string, prev: unknown, change: { enabled: boolean }) => Promise<ActionState<unknown>>; remove: (id: string, prev: unknown) => Promise<ActionState<unknown>> }) {
  const router = useRouter();
  const toast = useToast();
  const [adding, setAdding] = useState(false);
  const [formKey, setFormKey] = useState(0);
  const [deleting, setDeleting] = useState<R | null>(null);
  const [pending, start] = useTransition();

  const run = (work: () => Promise<void>) =>
    start(async () => {
      await work();
      router.refresh();
    });
  const toggle = (row: R) =>
    run(async () => {
      const res = await actions.setEnabled(row.id, null, { enabled: !row.enabled });
      if (!res?.ok) toast({ tone: "error", title: `Could not change the ${what}`, description: res?.error });
    });
  const remove = () => {
    const row = deleting;
    if (!row) return;
    run(async () => {
      const res = await actions.remove(row.id, null);
      setDeleting(null);
      if (res?.ok) toast({ tone: "success", title: `Deleted ${row.name}` });
      else toast({ tone: "error", title: `Could not delete the ${what}`, description: res?.error });
    });
  };
  const closeForm = () => {
    setAdding(false);
    setFormKey((k) => k + 1);
    router.refresh();
  };
  return { adding, openForm: () => setAdding(true), closeForm, formKey, deleting, setDeleting, pending, run, toggle, remove, toast };
}

"use client";
import { useActionState } from "react";
import { createDeviceFormAction } from "@/app/(dashboard)/devices/actions";

export function NewDeviceForm() {
  const [state, action, pending] = useActionState(createDeviceFormAction, null);
  const errors = state && !state.ok ? state.fieldErrors : {};
  return (
    <form action={action} className="flex flex-wrap items-start gap-2" aria-label="New device">
      <div>
        <label htmlFor="new-name" className="sr-only">Name</label>
        <input id="new-name" name="name" placeholder="device-name" required aria-invalid={!!errors.name}
          className="rounded-md border border-zinc-300 px-3 py-1.5 text-sm" />
        {errors.name && <p className="mt-1 text-xs text-red-600">{errors.name}</p>}
      </div>
      <div>
        <label htmlFor="new-tags" className="sr-only">Tags</label>
        <input id="new-tags" name="tags" placeholder="tags, comma separated" className="rounded-md border border-zinc-300 px-3 py-1.5 text-sm" />
      </div>
      <button disabled={pending} className="rounded-md bg-zinc-900 px-3 py-1.5 text-sm font-medium text-white disabled:opacity-60">
        {pending ? "Creating…" : "Create device"}
      </button>
      {state && !state.ok && !Object.keys(errors).length && <p role="alert" className="w-full text-sm text-red-600">{state.error}</p>}
      {state?.ok && <p role="status" className="w-full text-sm text-emerald-700">Created {state.data.name}</p>}
    </form>
  );
}

"use client";
// An issuing CA's EST re-enrollment settings (admin): grace after expiry and whether the old
// certificate is revoked as superseded. Same service as PATCH /api/v1/cas/{id}/est.
import { useActionState } from "react";
import { useRouter } from "next/navigation";
import { Button } from "@/components/ui/button";
import { FormError, TextField } from "@/components/ui/field";
import { useToast } from "@/components/ui/toast";
import { useActionResult } from "@/components/ui/use-action-result";
import type { BoundAction } from "@/lib/auth/action";

export function CaEstSettings({ slug, settings, submit, canWrite }: { slug: string; settings: { reenrollGraceDays: number; revokeSuperseded: boolean }; submit: BoundAction<FormData, { slug: string }>; canWrite: boolean }) {
  const [state, action, pending] = useActionState(submit, null);
  const router = useRouter();
  const toast = useToast();
  const errors = state && !state.ok ? state.fieldErrors : {};
  useActionResult(state, (s) => {
    if (!s.ok) return;
    toast({ tone: "success", title: `EST settings of ${s.data.slug} saved` });
    router.refresh();
  });
  if (!canWrite) {
    return (
      <p className="text-sm text-zinc-700" data-testid={`est-settings-${slug}`}>
        Grace after expiry: {settings.reenrollGraceDays ? `${settings.reenrollGraceDays} days` : "none"} · old certificate {settings.revokeSuperseded ? "revoked as superseded" : "marked superseded"}
      </p>
    );
  }
  return (
    <form action={action} className="flex flex-wrap items-end gap-x-4 gap-y-2" aria-label={`EST settings of ${slug}`} data-testid={`est-settings-${slug}`}>
      <TextField
        id={`est-grace-${slug}`}
        name="reenrollGraceDays"
        label="Re-enroll grace after expiry (days)"
        type="number"
        min={0}
        max={365}
        defaultValue={settings.reenrollGraceDays}
        error={errors.reenrollGraceDays}
        className="w-56"
      />
      <label className="flex h-8 items-center gap-2 text-sm text-zinc-800">
        <input type="checkbox" name="revokeSuperseded" defaultChecked={settings.revokeSuperseded} className="accent-zinc-900" /> Revoke the old certificate (superseded)
      </label>
      <Button type="submit" size="xs" variant="secondary" pending={pending} data-testid={`est-settings-save-${slug}`}>Save</Button>
      {state && !state.ok && !errors.reenrollGraceDays && <FormError message={state.error} />}
    </form>
  );
}

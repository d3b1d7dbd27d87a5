"use client";
// The MQTT topics a device may publish / subscribe to, as the broker auth backend checks them.
import { useActionState, useState } from "react";
import { useRouter } from "next/navigation";
import { Button } from "@/components/ui/button";
import { FormError, TextareaField } from "@/components/ui/field";
import { useToast } from "@/components/ui/toast";
import { useActionResult } from "@/components/ui/use-action-result";
import type { BoundAction } from "@/lib/auth/action";

export interface TopicPolicyRow {
  publish: string[];
  subscribe: string[];
  /** "device", "tag:<tags>" or "default". */
  source: string;
}

export function TopicPolicyForm({ policy, save, reset, canWrite }: { policy: TopicPolicyRow; save: BoundAction<FormData, unknown>; reset: BoundAction<FormData, unknown>; canWrite: boolean }) {
  const router = useRouter();
  const toast = useToast();
  const [state, action, pending] = useActionState(save, null);
  const [resetState, resetAction, resetting] = useActionState(reset, null);
  const [key, setKey] = useState(0);
  const errors = state && !state.ok ? state.fieldErrors : {};
  useActionResult(state, (s) => {
    if (s.ok) {
      toast({ tone: "success", title: "Topic policy saved", description: "The broker auth backend follows it at once." });
      router.refresh();
    }
  });
  useActionResult(resetState, (s) => {
    if (s.ok) {
      toast({ tone: "success", title: "Topic policy removed", description: "The device follows its tags' policy or the default again." });
      setKey((k) => k + 1);
      router.refresh();
    }
  });
  const source = policy.source === "device" ? "its own policy" : policy.source === "default" ? "the default" : `tag policy (${policy.source.slice(4)})`;
  return (
    <form key={key} action={action} className="space-y-3" aria-label="Topic policy">
      <p className="text-xs text-zinc-500">
        Now from {source}. One MQTT filter a line; <code className="font-mono">{"{name}"}</code> is the device name, <code className="font-mono">+</code> one level, <code className="font-mono">#</code> the rest.
      </p>
      <TextareaField id="topic-publish" name="publish" label="May publish to" rows={3} defaultValue={policy.publish.join("\n")} error={errors.publish} disabled={!canWrite} />
      <TextareaField id="topic-subscribe" name="subscribe" label="May subscribe to" rows={3} defaultValue={policy.subscribe.join("\n")} error={errors.subscribe} disabled={!canWrite} />
      {state && !state.ok && !Object.keys(errors).length && <FormError message={state.error} />}
      {resetState && !resetState.ok && <FormError message={resetState.error} />}
      {canWrite && (
        <div className="flex justify-end gap-2">
          {policy.source === "device" && (
            <Button variant="ghost" size="sm" pending={resetting} formAction={resetAction}>Use tags / default</Button>
          )}
          <Button type="submit" size="sm" pending={pending}>Save policy</Button>
        </div>
      )}
    </form>
  );
}

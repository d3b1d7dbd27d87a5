"use client";
// Settings → Notifications: alert rules (what to watch, which channel), enable/disable, delete.
import { Table, THead, Th, Tr, Td } from "@/components/ui/table";
import { useActionState, useState } from "react";
import { ListChecks, Plus } from "lucide-react";
import { Button } from "@/components/ui/button";
import { Badge } from "@/components/ui/badge";
import { CardHeader } from "@/components/ui/card";
import { Dialog } from "@/components/ui/dialog";
import { ConfirmDialog } from "@/components/ui/confirm-dialog";
import { EmptyState } from "@/components/ui/empty-state";
import { FormError, SelectField, TextField } from "@/components/ui/field";
import { useActionResult } from "@/components/ui/use-action-result";
import { useManagedRows } from "./use-managed-rows";
import type { ActionState, BoundAction } from "@/lib/auth/action";
import type { RuleView } from "@/lib/services/notifications/manage";

export type RuleRow = RuleView;

export interface RuleActions {
  create: BoundAction<FormData, { name: string }>;
  setEnabled: (id: string, prev: unknown, change: { enabled: boolean }) => Promise<ActionState<unknown>>;
  remove: (id: string, prev: unknown) => Promise<ActionState<unknown>>;
}

const KIND_LABELS: Record<string, string> = {
  "certificate-expiry": "Certificates expiring",
  "certificate-expired": "Current certificate expired",
  "signer-expiry": "CA, OCSP signer or CRL close to expiry",
  revocation: "Revocations",
  "est-refusals": "EST refusals spike",
};

function describe(r: RuleRow, caName: (id: string) => string): string {
  const parts: string[] = [];
  if (r.kind === "certificate-expiry" || r.kind === "signer-expiry") parts.push(`${r.thresholds.join(" / ")} days`);
  if (r.kind === "est-refusals") parts.push(`≥ ${r.spikeCount} in ${r.windowMinutes} min`);
  if (r.tag) parts.push(`tag ${r.tag}`);
  if (r.caId) parts.push(`CA ${caName(r.caId)}`);
  if (r.digest) parts.push("daily digest");
  return parts.join(" · ");
}

export function RulesPanel({ rules, channels, cas, actions }: { rules: RuleRow[]; channels: { id: string; name: string }[]; cas: { id: string; slug: string }[]; actions: RuleActions }) {
  const { adding, openForm, closeForm, formKey, deleting, setDeleting, pending, toggle, remove } = useManagedRows<RuleRow>("rule", actions);
  const caName = (id: string) => cas.find((c) => c.id === id)?.slug ?? id;

  return (
    <div>
      <CardHeader
        id="notification-rules"
        title="Alert rules"
        description="Evaluated by the server every few minutes. Each certificate threshold fires once, across restarts and instances."
        actions={
          <Button size="sm" onClick={openForm} disabled={!channels.length} data-testid="new-rule">
            <Plus aria-hidden="true" /> New rule
          </Button>
        }
      />
      {rules.length ? (
        <Table data-testid="rules-table">
            <THead>
              <tr>
                <Th>Name</Th>
                <Th>Watches</Th>
                <Th>Channel</Th>
                <Th>Status</Th>
                <Th><span className="sr-only">Actions</span></Th>
              </tr>
            </THead>
            <tbody>
              {rules.map((r) => (
                <Tr key={r.id} data-rule={r.name}>
                  <Td className="py-2 font-medium text-zinc-900">{r.name}</Td>
                  <Td className="py-2">
                    <div>{KIND_LABELS[r.kind] ?? r.kind}</div>
                    <div className="text-xs text-zinc-500">{describe(r, caName)}</div>
                  </Td>
                  <Td className="py-2">{r.channelName}</Td>
                  <Td className="py-2">{r.enabled ? <Badge tone="green" dot>Enabled</Badge> : <Badge>Disabled</Badge>}</Td>
                  <Td className="py-2 text-right whitespace-nowrap">
                    <Button size="xs" variant="ghost" onClick={() => toggle(r)} disabled={pending}>{r.enabled ? "Disable" : "Enable"}</Button>{" "}
                    <Button size="xs" variant="outline-destructive" onClick={() => setDeleting(r)}>Delete…</Button>
                  </Td>
                </Tr>
              ))}
            </tbody>
          </Table>
      ) : (
        <EmptyState icon={<ListChecks />} title="No alert rules" description={channels.length ? "Add a rule: expiry thresholds default to 30, 7 and 1 days." : "Add a channel first."} />
      )}
      <Dialog open={adding} onClose={closeForm} title="New alert rule">
        <NewRuleForm key={formKey} create={actions.create} channels={channels} cas={cas} onDone={closeForm} />
      </Dialog>
      <ConfirmDialog
        open={!!deleting}
        onClose={() => setDeleting(null)}
        onConfirm={remove}
        pending={pending}
        destructive
        title={`Delete ${deleting?.name}?`}
        description="Its record of fired alerts goes with it: a new rule like it would alert again."
        confirmLabel="Delete rule"
      />
    </div>
  );
}

function NewRuleForm({ create, channels, cas, onDone }: { create: RuleActions["create"]; channels: { id: string; name: string }[]; cas: { id: string; slug: string }[]; onDone: () => void }) {
  const [state, action, pending] = useActionState(create, null);
  const [kind, setKind] = useState("certificate-expiry");
  const errors = state && !state.ok ? state.fieldErrors : {};
  useActionResult(state, (s) => {
    if (s.ok) onDone();
  });
  const certificateRule = kind === "certificate-expiry" || kind === "certificate-expired";
  return (
    <form action={action} className="space-y-3" aria-label="New alert rule">
      <TextField id="rule-name" name="name" label="Name" required placeholder="expiry-prod" autoComplete="off" error={errors.name} />
      <SelectField id="rule-kind" name="kind" label="Watches" value={kind} onChange={(e) => setKind(e.target.value)} error={errors.kind}>
        {Object.entries(KIND_LABELS).map(([value, label]) => (
          <option key={value} value={value}>{label}</option>
        ))}
      </SelectField>
      <SelectField id="rule-channel" name="channelId" label="Channel" error={errors.channelId}>
        {channels.map((c) => (
          <option key={c.id} value={c.id}>{c.name}</option>
        ))}
      </SelectField>
      {(kind === "certificate-expiry" || kind === "signer-expiry") && (
        <TextField id="rule-thresholds" name="thresholds" label="Thresholds (days before expiry)" defaultValue="30, 7, 1" error={errors.thresholds ?? errors["thresholds.0"]} />
      )}
      {kind === "est-refusals" && (
        <div className="grid grid-cols-2 gap-2">
          <TextField id="rule-spike" name="spikeCount" type="number" min={1} label="At least (refusals)" defaultValue={10} error={errors.spikeCount} />
          <TextField id="rule-window" name="windowMinutes" type="number" min={1} max={1440} label="Within (minutes)" defaultValue={15} error={errors.windowMinutes} />
        </div>
      )}
      {(certificateRule || kind === "signer-expiry") && (
        <div className="grid grid-cols-2 gap-2">
          {certificateRule && <TextField id="rule-tag" name="tag" label="Only devices tagged (optional)" error={errors.tag} />}
          <SelectField id="rule-ca" name="caId" label="Only CA (optional)" defaultValue="" error={errors.caId}>
            <option value="">Any CA</option>
            {cas.map((c) => (
              <option key={c.id} value={c.id}>{c.slug}</option>
            ))}
          </SelectField>
        </div>
      )}
      <label className="flex items-center gap-2 text-sm">
        <input type="checkbox" name="digest" value="true" className="size-4 rounded border-zinc-300" />
        Daily digest instead of one message per match
      </label>
      {state && !state.ok && !Object.keys(errors).length && <FormError message={state.error} />}
      <div className="flex justify-end pt-1">
        <Button type="submit" pending={pending}>Create rule</Button>
      </div>
    </form>
  );
}

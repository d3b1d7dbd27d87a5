"use client";
// Settings → Notifications: channels (webhook, email) with enable/disable, delete and "Send test".
import { Table, THead, Th, Tr, Td } from "@/components/ui/table";
import { useActionState, useState } from "react";
import { BellRing, Plus } from "lucide-react";
import { Button } from "@/components/ui/button";
import { Badge } from "@/components/ui/badge";
import { CardHeader } from "@/components/ui/card";
import { Dialog } from "@/components/ui/dialog";
import { ConfirmDialog } from "@/components/ui/confirm-dialog";
import { CopyButton } from "@/components/ui/copy-button";
import { EmptyState } from "@/components/ui/empty-state";
import { FormError, SelectField, TextField } from "@/components/ui/field";
import { useActionResult } from "@/components/ui/use-action-result";
import { useManagedRows } from "./use-managed-rows";
import type { ActionState, BoundAction } from "@/lib/auth/action";
import type { ChannelView } from "@/lib/services/notifications/manage";
import type { DeliveryOutcome } from "@/lib/services/notifications/delivery";

export type ChannelRow = Pick<ChannelView, "id" | "name" | "kind" | "enabled" | "target" | "hasSecret">;

export interface ChannelActions {
  create: BoundAction<FormData, { name: string; kind: string; secret?: string }>;
  setEnabled: (id: string, prev: unknown, change: { enabled: boolean }) => Promise<ActionState<unknown>>;
  remove: (id: string, prev: unknown) => Promise<ActionState<unknown>>;
  test: (id: string, prev: unknown) => Promise<ActionState<DeliveryOutcome>>;
}

export function ChannelsPanel({ channels, actions }: { channels: ChannelRow[]; actions: ChannelActions }) {
  const { adding, openForm, closeForm, formKey, deleting, setDeleting, pending, run, toggle, remove, toast } = useManagedRows<ChannelRow>("channel", actions);
  const test = (c: ChannelRow) =>
    run(async () => {
      const res = await actions.test(c.id, null);
      if (!res?.ok) toast({ tone: "error", title: "Could not send", description: res?.error });
      else if (res.data.ok) toast({ tone: "success", title: `Test sent to ${c.name}`, description: res.data.statusCode ? `Answered ${res.data.statusCode}` : undefined });
      else toast({ tone: "error", title: `Test to ${c.name} failed after ${res.data.attempts} attempt(s)`, description: res.data.error });
    });

  return (
    <div>
      <CardHeader
        id="notification-channels"
        title="Notification channels"
        description="Where alerts go: a webhook (signed JSON POST) or email over SMTP. Secrets are sealed under the master key and never shown again."
        actions={
          <Button size="sm" onClick={openForm} data-testid="new-channel">
            <Plus aria-hidden="true" /> New channel
          </Button>
        }
      />
      {channels.length ? (
        <Table data-testid="channels-table">
            <THead>
              <tr>
                <Th>Name</Th>
                <Th>Kind</Th>
                <Th>Target</Th>
                <Th>Status</Th>
                <Th><span className="sr-only">Actions</span></Th>
              </tr>
            </THead>
            <tbody>
              {channels.map((c) => (
                <Tr key={c.id} data-channel={c.name}>
                  <Td className="py-2 font-medium text-zinc-900">{c.name}</Td>
                  <Td className="py-2 capitalize">{c.kind}{c.hasSecret && <span className="ml-1 text-xs text-zinc-500">{c.kind === "webhook" ? "· signed" : "· auth"}</span>}</Td>
                  <Td className="py-2 font-mono text-xs break-all text-zinc-600">{c.target}</Td>
                  <Td className="py-2">{c.enabled ? <Badge tone="green" dot>Enabled</Badge> : <Badge>Disabled</Badge>}</Td>
                  <Td className="py-2 text-right whitespace-nowrap">
                    <Button size="xs" variant="secondary" onClick={() => test(c)} disabled={pending}>Send test</Button>{" "}
                    <Button size="xs" variant="ghost" onClick={() => toggle(c)} disabled={pending}>{c.enabled ? "Disable" : "Enable"}</Button>{" "}
                    <Button size="xs" variant="outline-destructive" onClick={() => setDeleting(c)}>Delete…</Button>
                  </Td>
                </Tr>
              ))}
            </tbody>
          </Table>
      ) : (
        <EmptyState icon={<BellRing />} title="No channels" description="Add a webhook or an email account, then rules that send to it." />
      )}
      <Dialog open={adding} onClose={closeForm} title="New notification channel" description="A webhook's signing secret is shown once.">
        <NewChannelForm key={formKey} create={actions.create} onDone={closeForm} />
      </Dialog>
      <ConfirmDialog
        open={!!deleting}
        onClose={() => setDeleting(null)}
        onConfirm={remove}
        pending={pending}
        destructive
        title={`Delete ${deleting?.name}?`}
        description="Its delivery log goes with it. A channel that rules still use cannot be deleted."
        confirmLabel="Delete channel"
      />
    </div>
  );
}

function NewChannelForm({ create, onDone }: { create: ChannelActions["create"]; onDone: () => void }) {
  const [state, action, pending] = useActionState(create, null);
  const [kind, setKind] = useState<"webhook" | "email">("webhook");
  const [created, setCreated] = useState<{ name: string; secret?: string } | null>(null);
  const errors = state && !state.ok ? state.fieldErrors : {};
  useActionResult(state, (s) => {
    if (!s.ok) return;
    if (s.data.secret) setCreated({ name: s.data.name, secret: s.data.secret });
    else onDone();
  });

  if (created?.secret) {
    return (
      <div className="space-y-3 text-sm" data-testid="channel-secret-once">
        <p>Give this signing secret to the receiver of <strong>{created.name}</strong>. It cannot be shown again.</p>
        <div className="flex items-center gap-2">
          <code className="min-w-0 flex-1 rounded bg-zinc-100 px-2 py-1.5 font-mono text-xs break-all" data-testid="channel-secret">{created.secret}</code>
          <CopyButton value={created.secret} label="Copy secret" showLabel />
        </div>
        <p className="text-xs text-zinc-600">
          Each request carries <code>X-CertFleet-Signature: t=&lt;unix time&gt;,v1=&lt;hex&gt;</code>, v1 = HMAC-SHA256(secret, &quot;t.body&quot;). Refuse old timestamps.
        </p>
        <div className="flex justify-end">
          <Button onClick={onDone}>Done</Button>
        </div>
      </div>
    );
  }

  return (
    <form action={action} className="space-y-3" aria-label="New notification channel">
      <TextField id="channel-name" name="name" label="Name" required placeholder="ops-webhook" autoComplete="off" error={errors.name} />
      <SelectField id="channel-kind" name="kind" label="Kind" value={kind} onChange={(e) => setKind(e.target.value as "webhook" | "email")} error={errors.kind}>
        <option value="webhook">Webhook — signed JSON POST</option>
        <option value="email">Email — SMTP</option>
      </SelectField>
      {kind === "webhook" ? (
        <>
          <TextField id="channel-url" name="url" type="url" label="URL" required placeholder="https://hooks.example.net/certfleet" error={errors.url} hint="Redirects are not followed." />
          <TextField id="channel-secret-input" name="secret" type="password" label="Signing secret (optional)" autoComplete="off" placeholder="Generated when empty" error={errors.secret} />
        </>
      ) : (
        <>
          <div className="grid grid-cols-3 gap-2">
            <TextField id="channel-host" name="host" label="SMTP host" required className="col-span-2" error={errors.host} />
            <TextField id="channel-port" name="port" type="number" min={1} max={65535} label="Port" required defaultValue={587} error={errors.port} />
          </div>
          <SelectField id="channel-security" name="security" label="Security" defaultValue="starttls" error={errors.security}>
            <option value="starttls">STARTTLS (587)</option>
            <option value="tls">TLS (465)</option>
            <option value="none">None (local relay only)</option>
          </SelectField>
          <div className="grid grid-cols-2 gap-2">
            <TextField id="channel-username" name="username" label="Username (optional)" autoComplete="off" error={errors.username} />
            <TextField id="channel-password" name="password" type="password" label="Password (optional)" autoComplete="new-password" error={errors.password} />
          </div>
          <TextField id="channel-from" name="from" type="email" label="From" required placeholder="certfleet@example.net" error={errors.from} />
          <TextField id="channel-to" name="to" label="Recipients" required placeholder="ops@example.net, pki@example.net" error={errors.to} hint="Comma-separated." />
        </>
      )}
      {state && !state.ok && !Object.keys(errors).length && <FormError message={state.error} />}
      <div className="flex justify-end pt-1">
        <Button type="submit" pending={pending}>Create channel</Button>
      </div>
    </form>
  );
}

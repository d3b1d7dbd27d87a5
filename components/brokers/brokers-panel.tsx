"use client";
// Brokers page: registered brokers with their health, registering one (its auth-backend URL with
// the secret is shown once) and removing one.
import { useActionState, useState, useTransition } from "react";
import { useRouter } from "next/navigation";
import { Plus, RadioTower } from "lucide-react";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { CardHeader } from "@/components/ui/card";
import { ConfirmDialog } from "@/components/ui/confirm-dialog";
import { CopyButton } from "@/components/ui/copy-button";
import { Dialog } from "@/components/ui/dialog";
import { EmptyState } from "@/components/ui/empty-state";
import { FormError, SelectField, TextField } from "@/components/ui/field";
import { formatDateTime, relativeTime } from "@/components/ui/format";
import { useToast } from "@/components/ui/toast";
import { useActionResult } from "@/components/ui/use-action-result";
import type { ActionState, BoundAction } from "@/lib/auth/action";
import { BROKER_KIND_LABELS, brokerHealth, type BrokerHealthRow } from "./broker-health";

export interface BrokerRow extends BrokerHealthRow {
  adminUrl: string | null;
  adminUsername: string | null;
}

export interface BrokerActions {
  create: BoundAction<FormData, { name: string; kind: string; authUrl: string }>;
  remove: (id: string, prev: unknown) => Promise<ActionState<unknown>>;
}

function when(at: Date | null, now: Date) {
  return at ? <span title={formatDateTime(at)}>{relativeTime(at, now)}</span> : <span className="text-zinc-500">never</span>;
}

export function BrokersPanel({ brokers, actions, canManage, publicUrl, nowMs }: { brokers: BrokerRow[]; actions: BrokerActions; canManage: boolean; publicUrl: string; nowMs: number }) {
  const router = useRouter();
  const toast = useToast();
  const [adding, setAdding] = useState(false);
  const [formKey, setFormKey] = useState(0);
  const [removing, setRemoving] = useState<BrokerRow | null>(null);
  const [pending, start] = useTransition();
  const now = new Date(nowMs);
  const close = () => {
    setAdding(false);
    setFormKey((k) => k + 1);
    router.refresh();
  };
  function remove() {
    if (!removing) return;
    const b = removing;
    start(async () => {
      const res = await actions.remove(b.id, null);
      setRemoving(null);
      if (res?.ok) {
        toast({ tone: "success", title: `Removed ${b.name}`, description: "Its auth-backend URL stops answering: the broker refuses every device until it is reconfigured." });
        router.refresh();
      } else toast({ tone: "error", title: "Could not remove the broker", description: res?.error });
    });
  }
  return (
    <div>
      <CardHeader
        id="brokers"
        title="Registered brokers"
        description="CertFleet answers their auth requests and closes the sessions of devices that lose access."
        actions={
          canManage && (
            <Button size="sm" onClick={() => setAdding(true)} data-testid="new-broker">
              <Plus aria-hidden="true" /> Register broker
            </Button>
          )
        }
      />
      {brokers.length ? (
        <div className="overflow-x-auto">
          <table className="w-full text-sm" data-testid="brokers-table">
            <thead className="border-b border-zinc-200 bg-zinc-50/80 text-left text-xs text-zinc-500">
              <tr>
                <th scope="col" className="h-9 px-3 font-medium">Broker</th>
                <th scope="col" className="h-9 px-3 font-medium">State</th>
                <th scope="col" className="h-9 px-3 font-medium">Last sync</th>
                <th scope="col" className="h-9 px-3 font-medium">Last auth call</th>
                <th scope="col" className="h-9 px-3 font-medium">Sessions closed</th>
                <th scope="col" className="h-9 px-3"><span className="sr-only">Actions</span></th>
              </tr>
            </thead>
            <tbody>
              {brokers.map((b) => {
                const health = brokerHealth(b);
                return (
                  <tr key={b.id} className="border-b border-zinc-100 align-top last:border-0" data-broker={b.name}>
                    <td className="px-3 py-2">
                      <div className="font-medium text-zinc-900">{b.name} <span className="text-xs font-normal text-zinc-500">{BROKER_KIND_LABELS[b.kind] ?? b.kind}</span></div>
                      <div className="font-mono text-xs text-zinc-500">{b.adminUrl ? `${b.adminUsername}@${b.adminUrl}` : "no admin API"}</div>
                    </td>
                    <td className="px-3 py-2">
                      <Badge tone={health.tone} dot>{health.label}</Badge>
                      {b.lastKickError && b.lastKickErrorAt && (
                        <div className="mt-1 max-w-xs text-xs break-words text-red-700">{relativeTime(b.lastKickErrorAt, now)}: {b.lastKickError}</div>
                      )}
                    </td>
                    <td className="px-3 py-2 text-xs text-zinc-600">{when(b.lastSyncAt, now)}</td>
                    <td className="px-3 py-2 text-xs text-zinc-600">{when(b.lastAuthAt, now)}</td>
                    <td className="px-3 py-2 text-xs text-zinc-600">{when(b.lastKickAt, now)}{b.kickCount > 0 && <span className="text-zinc-500"> · {b.kickCount}</span>}</td>
                    <td className="px-3 py-2 text-right">
                      {canManage && <Button size="xs" variant="outline-destructive" onClick={() => setRemoving(b)}>Remove…</Button>}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      ) : (
        <EmptyState icon={<RadioTower />} title="No broker registered" description="Register a broker to get its auth-backend URL and let CertFleet close revoked devices' sessions." />
      )}
      <Dialog open={adding} onClose={close} title="Register a broker" description="Its auth-backend URL carries a secret that is shown once; CertFleet keeps only its hash.">
        <NewBrokerForm key={formKey} create={actions.create} publicUrl={publicUrl} onDone={close} />
      </Dialog>
      <ConfirmDialog
        open={!!removing}
        onClose={() => setRemoving(null)}
        onConfirm={remove}
        pending={pending}
        destructive
        title={`Remove ${removing?.name}?`}
        description="Its auth-backend URL stops answering at once: a RabbitMQ or EMQX that asks CertFleet then refuses every device."
        confirmLabel="Remove broker"
      />
    </div>
  );
}

function NewBrokerForm({ create, publicUrl, onDone }: { create: BrokerActions["create"]; publicUrl: string; onDone: () => void }) {
  const [state, action, pending] = useActionState(create, null);
  const [done, setDone] = useState<{ name: string; kind: string; authUrl: string } | null>(null);
  const [kind, setKind] = useState("rabbitmq");
  const errors = state && !state.ok ? state.fieldErrors : {};
  useActionResult(state, (s) => {
    if (s.ok) setDone(s.data);
  });
  if (done) {
    const command =
      done.kind === "rabbitmq"
        ? `npx certfleet broker-config --broker rabbitmq --url ${publicUrl} --auth-url ${done.authUrl}`
        : done.kind === "emqx"
          ? `authentication: POST ${done.authUrl}/emqx/authn · authorization: POST ${done.authUrl}/emqx/authz`
          : `npx certfleet broker-config --broker mosquitto --url ${publicUrl}`;
    return (
      <div className="space-y-3 text-sm" data-testid="broker-once">
        <p>Copy the auth-backend URL of <strong>{done.name}</strong> now. It cannot be shown again (rotate it over the REST API if lost).</p>
        <div className="flex items-center gap-2">
          <code className="min-w-0 flex-1 rounded bg-zinc-100 px-2 py-1.5 font-mono text-xs break-all" data-testid="broker-auth-url">{done.authUrl}</code>
          <CopyButton value={done.authUrl} label="Copy auth URL" showLabel />
        </div>
        <div className="rounded-md bg-zinc-950 p-2 font-mono text-[11px] break-all text-zinc-100">{command}</div>
        <div className="flex justify-end">
          <Button onClick={onDone}>Done</Button>
        </div>
      </div>
    );
  }
  return (
    <form action={action} className="space-y-3" aria-label="Register a broker">
      <TextField id="broker-name" name="name" label="Name" required placeholder="rabbit-1" autoComplete="off" error={errors.name} />
      <SelectField id="broker-kind" name="kind" label="Kind" value={kind} onChange={(e) => setKind(e.target.value)} error={errors.kind}>
        <option value="rabbitmq">RabbitMQ (MQTT plugin)</option>
        <option value="emqx">EMQX 5</option>
        <option value="mosquitto">Mosquitto (no session closing)</option>
      </SelectField>
      {kind !== "mosquitto" && (
        <>
          <TextField
            id="broker-admin-url"
            name="adminUrl"
            label={kind === "rabbitmq" ? "Management API URL" : "REST API URL"}
            placeholder={kind === "rabbitmq" ? "http://127.0.0.1:15672" : "http://127.0.0.1:18083"}
            error={errors.adminUrl}
            hint="Optional; without it CertFleet cannot close revoked devices' sessions."
          />
          <TextField id="broker-admin-user" name="adminUsername" label={kind === "rabbitmq" ? "Admin user (answered by CertFleet's auth backend)" : "API key"} autoComplete="off" error={errors.adminUsername} />
          <TextField id="broker-admin-password" name="adminPassword" type="password" label={kind === "rabbitmq" ? "Admin password" : "API secret"} autoComplete="new-password" error={errors.adminPassword} hint="Stored sealed under the master key; never shown again." />
        </>
      )}
      {state && !state.ok && !Object.keys(errors).length && <FormError message={state.error} />}
      <div className="flex justify-end pt-1">
        <Button type="submit" pending={pending}>Register</Button>
      </div>
    </form>
  );
}

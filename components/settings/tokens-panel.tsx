"use client";
import { useActionState, useState, useTransition } from "react";
import { useRouter } from "next/navigation";
import { KeySquare, Plus } from "lucide-react";
import { Button } from "@/components/ui/button";
import { Badge } from "@/components/ui/badge";
import { CardHeader } from "@/components/ui/card";
import { Dialog } from "@/components/ui/dialog";
import { ConfirmDialog } from "@/components/ui/confirm-dialog";
import { CopyButton } from "@/components/ui/copy-button";
import { EmptyState } from "@/components/ui/empty-state";
import { FormError, SelectField, TextField } from "@/components/ui/field";
import { useToast } from "@/components/ui/toast";
import { useActionResult } from "@/components/ui/use-action-result";
import { formatDate, formatDateTime, relativeTime } from "@/components/ui/format";
import type { ActionState, BoundAction } from "@/lib/auth/action";

/** Token actions as the settings page hands them over; revoke takes the token's id first. */
export interface TokenActions {
  create: BoundAction<FormData, { name: string; token: string; role: string }>;
  revoke: (id: string, prev: unknown) => Promise<ActionState<unknown>>;
}

export interface TokenRow {
  id: string;
  name: string;
  prefix: string;
  role: string;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
  createdBy: string | null;
  createdAt: Date;
}

function tokenState(t: TokenRow, now: Date) {
  if (t.revokedAt) return <Badge tone="red">Revoked</Badge>;
  if (t.expiresAt && t.expiresAt <= now) return <Badge tone="amber">Expired</Badge>;
  return <Badge tone="green" dot>Active</Badge>;
}

export function TokensPanel({ actions, tokens, publicUrl, nowMs }: { actions: TokenActions; tokens: TokenRow[]; publicUrl: string; nowMs: number }) {
  const router = useRouter();
  const toast = useToast();
  const [adding, setAdding] = useState(false);
  const [formKey, setFormKey] = useState(0);
  const [revoking, setRevoking] = useState<TokenRow | null>(null);
  const [pending, start] = useTransition();
  const now = new Date(nowMs);

  function revoke() {
    if (!revoking) return;
    const t = revoking;
    start(async () => {
      const res = await actions.revoke(t.id, null);
      setRevoking(null);
      if (res?.ok) {
        toast({ tone: "success", title: `Revoked ${t.name}`, description: "Requests with it are refused from now on." });
        router.refresh();
      } else toast({ tone: "error", title: "Could not revoke the token", description: res?.error });
    });
  }

  const close = () => {
    setAdding(false);
    setFormKey((k) => k + 1);
    router.refresh();
  };

  return (
    <div>
      <CardHeader
        id="tokens"
        title="API tokens"
        description="Bearer tokens for the REST API and broker-sync. Shown once at creation; CertFleet keeps only a hash."
        actions={
          <Button size="sm" onClick={() => setAdding(true)} data-testid="new-token">
            <Plus aria-hidden="true" /> New token
          </Button>
        }
      />
      {tokens.length ? (
        <div className="overflow-x-auto">
          <table className="w-full text-sm" data-testid="tokens-table">
            <thead className="border-b border-zinc-200 bg-zinc-50/80 text-left text-xs text-zinc-500">
              <tr>
                <th scope="col" className="h-9 px-3 font-medium">Name</th>
                <th scope="col" className="h-9 px-3 font-medium">Role</th>
                <th scope="col" className="h-9 px-3 font-medium">Status</th>
                <th scope="col" className="h-9 px-3 font-medium">Expires</th>
                <th scope="col" className="h-9 px-3 font-medium">Last used</th>
                <th scope="col" className="h-9 px-3"><span className="sr-only">Actions</span></th>
              </tr>
            </thead>
            <tbody>
              {tokens.map((t) => (
                <tr key={t.id} className="border-b border-zinc-100 last:border-0" data-token={t.name}>
                  <td className="px-3 py-2">
                    <div className="font-medium text-zinc-900">{t.name}</div>
                    <div className="font-mono text-xs text-zinc-500">{t.prefix}… · by {t.createdBy ?? "system"} {relativeTime(t.createdAt, now)}</div>
                  </td>
                  <td className="px-3 py-2 capitalize">{t.role}</td>
                  <td className="px-3 py-2">{tokenState(t, now)}</td>
                  <td className="px-3 py-2 text-xs text-zinc-600">{t.expiresAt ? formatDate(t.expiresAt) : "never"}</td>
                  <td className="px-3 py-2 text-xs text-zinc-600" title={t.lastUsedAt ? formatDateTime(t.lastUsedAt) : undefined}>{t.lastUsedAt ? relativeTime(t.lastUsedAt, now) : "never"}</td>
                  <td className="px-3 py-2 text-right">
                    {!t.revokedAt && (
                      <Button size="xs" variant="outline-destructive" onClick={() => setRevoking(t)}>Revoke…</Button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        <EmptyState icon={<KeySquare />} title="No API tokens" description="Tokens let provisioning lines call the REST API and brokers fetch their PSK file." />
      )}
      <Dialog open={adding} onClose={close} title="New API token" description="The token is shown once. CertFleet stores only its hash.">
        <NewTokenForm key={formKey} create={actions.create} publicUrl={publicUrl} onDone={close} />
      </Dialog>
      <ConfirmDialog
        open={!!revoking}
        onClose={() => setRevoking(null)}
        onConfirm={revoke}
        pending={pending}
        destructive
        title={`Revoke ${revoking?.name}?`}
        description="Every program using it (provisioning, broker-sync) is refused from its next request. This cannot be undone."
        confirmLabel="Revoke token"
      />
    </div>
  );
}

function NewTokenForm({ create, publicUrl, onDone }: { create: TokenActions["create"]; publicUrl: string; onDone: () => void }) {
  const [state, action, pending] = useActionState(create, null);
  const [token, setToken] = useState<{ name: string; token: string; role: string } | null>(null);
  const errors = state && !state.ok ? state.fieldErrors : {};
  useActionResult(state, (s) => {
    if (s.ok) setToken({ name: s.data.name, token: s.data.token, role: s.data.role });
  });

  if (token) {
    const example =
      token.role === "broker"
        ? `certfleet broker-sync --url ${publicUrl} --token ${token.token} …`
        : `curl -H "Authorization: Bearer ${token.token}" ${publicUrl}${token.role === "metrics" ? "/metrics" : "/api/v1/devices"}`;
    return (
      <div className="space-y-3 text-sm" data-testid="token-once">
        <p>Copy the token for <strong>{token.name}</strong> now. It cannot be shown again.</p>
        <div className="flex items-center gap-2">
          <code className="min-w-0 flex-1 rounded bg-zinc-100 px-2 py-1.5 font-mono text-xs break-all" data-testid="token-value">{token.token}</code>
          <CopyButton value={token.token} label="Copy token" showLabel />
        </div>
        <div className="rounded-md bg-zinc-950 p-2 font-mono text-[11px] break-all text-zinc-100">{example}</div>
        <div className="flex justify-end">
          <Button onClick={onDone}>Done</Button>
        </div>
      </div>
    );
  }

  return (
    <form action={action} className="space-y-3" aria-label="New API token">
      <TextField id="token-name" name="name" label="Name" required placeholder="provisioning-line-1" autoComplete="off" error={errors.name} />
      <SelectField id="token-role" name="role" label="Role" defaultValue="operator" error={errors.role}>
        <option value="operator">Operator — devices, certificates, PSKs</option>
        <option value="viewer">Viewer — read only</option>
        <option value="broker">Broker — PSK file only (broker-sync)</option>
        <option value="metrics">Metrics — GET /metrics only (Prometheus)</option>
        <option value="admin">Admin — everything</option>
      </SelectField>
      <TextField id="token-expiry" name="expiresInDays" type="number" min={1} max={3650} label="Expires after (days, optional)" placeholder="Never" error={errors.expiresInDays} />
      {state && !state.ok && !Object.keys(errors).length && <FormError message={state.error} />}
      <div className="flex justify-end pt-1">
        <Button type="submit" pending={pending}>Create token</Button>
      </div>
    </form>
  );
}

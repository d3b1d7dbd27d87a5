"use client";
import { useActionState, useState, useTransition } from "react";
import { useRouter } from "next/navigation";
import { UserPlus } from "lucide-react";
import { Button } from "@/components/ui/button";
import { Badge } from "@/components/ui/badge";
import { CardHeader } from "@/components/ui/card";
import { Dialog } from "@/components/ui/dialog";
import { ConfirmDialog } from "@/components/ui/confirm-dialog";
import { CopyButton } from "@/components/ui/copy-button";
import { FormError, SelectField, TextField, controlBase } from "@/components/ui/field";
import { useToast } from "@/components/ui/toast";
import { useActionResult } from "@/components/ui/use-action-result";
import { formatDateTime, relativeTime } from "@/components/ui/format";
import { cn } from "@/components/ui/cn";
import type { ActionState, BoundAction } from "@/lib/auth/action";

/** User actions as the settings page hands them over; update takes the user's id first. */
export interface UserActions {
  create: BoundAction<FormData, { email: string; role: string; generatedPassword?: string }>;
  update: (id: string, prev: unknown, change: { role?: string; disabled?: boolean }) => Promise<ActionState<unknown>>;
}

export interface UserRow {
  id: string;
  email: string;
  name: string | null;
  role: string;
  disabled: boolean;
  lastLoginAt: Date | null;
  createdAt: Date;
}

const ROLE_HELP: Record<string, string> = {
  admin: "Everything, including users, tokens and PSK reveal",
  operator: "Devices, certificates and PSKs",
  viewer: "Read only",
};

export function UsersPanel({ actions, users, selfId, nowMs }: { actions: UserActions; users: UserRow[]; selfId: string; nowMs: number }) {
  const router = useRouter();
  const toast = useToast();
  const [adding, setAdding] = useState(false);
  const [formKey, setFormKey] = useState(0);
  const [disabling, setDisabling] = useState<UserRow | null>(null);
  const [pending, start] = useTransition();
  const now = new Date(nowMs);

  function change(user: UserRow, change: { role?: string; disabled?: boolean }) {
    start(async () => {
      const res = await actions.update(user.id, null, change);
      setDisabling(null);
      if (res?.ok) {
        toast({ tone: "success", title: `Updated ${user.email}`, description: change.role ? `Role: ${change.role}` : change.disabled ? "Disabled: signed out on the next request" : "Enabled" });
        router.refresh();
      } else toast({ tone: "error", title: "Could not update the user", description: res?.error });
    });
  }

  return (
    <div>
      <CardHeader
        id="users"
        title="Users"
        description="Admins manage everything; operators manage devices, certificates and PSKs; viewers read."
        actions={
          <Button size="sm" onClick={() => setAdding(true)} data-testid="add-user">
            <UserPlus aria-hidden="true" /> Add user
          </Button>
        }
      />
      <div className="overflow-x-auto">
        <table className="w-full text-sm" data-testid="users-table">
          <thead className="border-b border-zinc-200 bg-zinc-50/80 text-left text-xs text-zinc-500">
            <tr>
              <th scope="col" className="h-9 px-3 font-medium">User</th>
              <th scope="col" className="h-9 px-3 font-medium">Role</th>
              <th scope="col" className="h-9 px-3 font-medium">Status</th>
              <th scope="col" className="h-9 px-3 font-medium">Last sign-in</th>
              <th scope="col" className="h-9 px-3"><span className="sr-only">Actions</span></th>
            </tr>
          </thead>
          <tbody>
            {users.map((u) => {
              const self = u.id === selfId;
              return (
                <tr key={u.id} className="border-b border-zinc-100 last:border-0" data-email={u.email}>
                  <td className="px-3 py-2">
                    <div className="font-medium text-zinc-900">{u.email} {self && <Badge tone="blue" className="ml-1">you</Badge>}</div>
                    {u.name && <div className="text-xs text-zinc-500">{u.name}</div>}
                  </td>
                  <td className="px-3 py-2">
                    {self || u.role === "broker" ? (
                      <span className="capitalize">{u.role}</span>
                    ) : (
                      <>
                        <label htmlFor={`role-${u.id}`} className="sr-only">Role of {u.email}</label>
                        <select id={`role-${u.id}`} value={u.role} disabled={pending} onChange={(e) => change(u, { role: e.target.value })} className={cn(controlBase, "h-7 w-auto pr-7 text-xs")}>
                          <option value="admin">Admin</option>
                          <option value="operator">Operator</option>
                          <option value="viewer">Viewer</option>
                        </select>
                      </>
                    )}
                  </td>
                  <td className="px-3 py-2">{u.disabled ? <Badge tone="red">Disabled</Badge> : <Badge tone="green" dot>Active</Badge>}</td>
                  <td className="px-3 py-2 text-xs text-zinc-600" title={u.lastLoginAt ? formatDateTime(u.lastLoginAt) : undefined}>{u.lastLoginAt ? relativeTime(u.lastLoginAt, now) : "never"}</td>
                  <td className="px-3 py-2 text-right">
                    {!self &&
                      (u.disabled ? (
                        <Button size="xs" variant="secondary" onClick={() => change(u, { disabled: false })} disabled={pending}>Enable</Button>
                      ) : (
                        <Button size="xs" variant="outline-destructive" onClick={() => setDisabling(u)}>Disable…</Button>
                      ))}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      <Dialog open={adding} onClose={() => { setAdding(false); setFormKey((k) => k + 1); }} title="Add user" description="The user signs in with email and password.">
        <NewUserForm key={formKey} create={actions.create} onDone={() => { setAdding(false); setFormKey((k) => k + 1); router.refresh(); }} />
      </Dialog>
      <ConfirmDialog
        open={!!disabling}
        onClose={() => setDisabling(null)}
        onConfirm={() => {
          if (disabling) change(disabling, { disabled: true });
        }}
        pending={pending}
        destructive
        title={`Disable ${disabling?.email}?`}
        description="They are signed out on their next request and cannot sign in until enabled again. Their audit history stays."
        confirmLabel="Disable user"
      />
    </div>
  );
}

function NewUserForm({ create, onDone }: { create: UserActions["create"]; onDone: () => void }) {
  const [state, action, pending] = useActionState(create, null);
  const [generated, setGenerated] = useState<{ email: string; password: string } | null>(null);
  const toast = useToast();
  const errors = state && !state.ok ? state.fieldErrors : {};

  useActionResult(state, (s) => {
    if (!s.ok) return;
    if (s.data.generatedPassword) setGenerated({ email: s.data.email, password: s.data.generatedPassword });
    else {
      toast({ tone: "success", title: `Added ${s.data.email}`, description: `Role: ${s.data.role}` });
      onDone();
    }
  });

  if (generated) {
    return (
      <div className="space-y-3 text-sm" data-testid="generated-password">
        <p>
          <strong>{generated.email}</strong> was created. Give them this password; it is shown only now.
        </p>
        <div className="flex items-center gap-2">
          <code className="flex-1 rounded bg-zinc-100 px-2 py-1.5 font-mono text-sm">{generated.password}</code>
          <CopyButton value={generated.password} label="Copy password" showLabel />
        </div>
        <div className="flex justify-end">
          <Button onClick={onDone}>Done</Button>
        </div>
      </div>
    );
  }

  return (
    <form action={action} className="space-y-3" aria-label="Add user">
      <TextField id="user-email" name="email" type="email" label="Email" required autoComplete="off" error={errors.email} />
      <TextField id="user-name" name="name" label="Name (optional)" autoComplete="off" error={errors.name} />
      <SelectField id="user-role" name="role" label="Role" defaultValue="viewer" error={errors.role}>
        {Object.entries(ROLE_HELP).map(([role, help]) => (
          <option key={role} value={role}>{role[0].toUpperCase() + role.slice(1)} — {help}</option>
        ))}
      </SelectField>
      <TextField id="user-password" name="password" type="password" label="Password (optional)" autoComplete="new-password" hint="Leave empty to generate one (shown once)." error={errors.password} />
      {state && !state.ok && !Object.keys(errors).length && <FormError message={state.error} />}
      <div className="flex justify-end pt-1">
        <Button type="submit" pending={pending}>Add user</Button>
      </div>
    </form>
  );
}

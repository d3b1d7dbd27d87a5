import type { Metadata } from "next";
import { can } from "@/lib/auth/roles";
import { config } from "@/lib/config";
import { listUsers } from "@/lib/services/users";
import { listApiTokens } from "@/lib/services/tokens";
import { PageHeader } from "@/components/ui/page-header";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { UsersPanel } from "@/components/settings/users-panel";
import { TokensPanel } from "@/components/settings/tokens-panel";
import { NotificationsSection } from "@/components/alerts/notifications-section";
import { createTokenAction, createUserAction, revokeTokenAction, updateUserAction } from "./actions";
import * as notificationActions from "./notification-actions";
import { requireActor } from "../require-actor";

export const metadata: Metadata = { title: "Settings" };

export default async function SettingsPage() {
  const actor = await requireActor();
  const [users, tokens] = await Promise.all([
    can(actor.role, "users:manage") ? listUsers(actor) : Promise.resolve(null),
    can(actor.role, "tokens:manage") ? listApiTokens(actor) : Promise.resolve(null),
  ]);
  const now = Date.now();
  return (
    <>
      <PageHeader title="Settings" description="Who may sign in, the tokens programs use, and where alerts go." />
      <div className="space-y-4">
        <Card aria-labelledby="account">
          <CardHeader id="account" title="Your account" />
          <CardBody>
            <dl className="grid grid-cols-[7rem_1fr] gap-x-3 gap-y-1.5 text-sm">
              <dt className="text-zinc-500">Email</dt>
              <dd>{actor.label}</dd>
              <dt className="text-zinc-500">Role</dt>
              <dd className="capitalize">{actor.role}</dd>
            </dl>
            {!users && <p className="mt-3 text-sm text-zinc-500">Users and API tokens are managed by admins.</p>}
          </CardBody>
        </Card>
        {users && (
          <Card aria-labelledby="users">
            <UsersPanel actions={{ create: createUserAction, update: updateUserAction }} users={users} selfId={actor.id} nowMs={now} />
          </Card>
        )}
        {tokens && (
          <Card aria-labelledby="tokens">
            <TokensPanel actions={{ create: createTokenAction, revoke: revokeTokenAction }} tokens={tokens} publicUrl={config().publicUrl} nowMs={now} />
          </Card>
        )}
        {can(actor.role, "notifications:manage") && <NotificationsSection actor={actor} actions={notificationActions} nowMs={now} />}
      </div>
    </>
  );
}

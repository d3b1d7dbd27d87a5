// Settings → Notifications (admin): channels, rules and the delivery log, read here on the server.
import type { Actor } from "@/lib/auth/roles";
import { listCas } from "@/lib/services/cas";
import { listNotificationChannels, listNotificationDeliveries, listNotificationRules } from "@/lib/services/notifications/manage";
import { Card, CardHeader } from "@/components/ui/card";
import { EmptyState } from "@/components/ui/empty-state";
import { ChannelsPanel, type ChannelActions } from "./channels-panel";
import { RulesPanel, type RuleActions } from "./rules-panel";
import { DeliveryLog } from "./delivery-log";

export interface NotificationActions {
  createChannelAction: ChannelActions["create"];
  setChannelEnabledAction: ChannelActions["setEnabled"];
  deleteChannelAction: ChannelActions["remove"];
  testChannelAction: ChannelActions["test"];
  createRuleAction: RuleActions["create"];
  setRuleEnabledAction: RuleActions["setEnabled"];
  deleteRuleAction: RuleActions["remove"];
}

export async function NotificationsSection({ actor, actions, nowMs }: { actor: Actor; actions: NotificationActions; nowMs: number }) {
  const [channels, rules, deliveries, cas] = await Promise.all([listNotificationChannels(actor), listNotificationRules(actor), listNotificationDeliveries(actor, { limit: 30 }), listCas(actor)]);
  return (
    <>
      <Card aria-labelledby="notification-channels">
        <ChannelsPanel
          channels={channels}
          actions={{ create: actions.createChannelAction, setEnabled: actions.setChannelEnabledAction, remove: actions.deleteChannelAction, test: actions.testChannelAction }}
        />
      </Card>
      <Card aria-labelledby="notification-rules">
        <RulesPanel
          rules={rules}
          channels={channels.map((c) => ({ id: c.id, name: c.name }))}
          cas={cas.map((c) => ({ id: c.id, slug: c.slug }))}
          actions={{ create: actions.createRuleAction, setEnabled: actions.setRuleEnabledAction, remove: actions.deleteRuleAction }}
        />
      </Card>
      <Card aria-labelledby="notification-deliveries">
        <CardHeader id="notification-deliveries" title="Delivery log" description="Every attempt, newest first: failures are retried up to 3 times (1 s, then 4 s apart)." />
        {deliveries.length ? <DeliveryLog deliveries={deliveries} now={new Date(nowMs)} /> : <EmptyState title="Nothing sent yet" description="Use Send test on a channel to try it." />}
      </Card>
    </>
  );
}

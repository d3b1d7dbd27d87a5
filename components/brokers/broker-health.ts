// What a broker's health row shows, shared by the overview card and the brokers page.
import type { Tone } from "@/components/ui/badge";
import type { BrokerView } from "@/lib/services/brokers";

export type BrokerHealthRow = Pick<
  BrokerView,
  "id" | "name" | "kind" | "canCloseSessions" | "lastSyncAt" | "lastAuthAt" | "lastKickAt" | "kickCount" | "lastKickError" | "lastKickErrorAt"
>;

export const BROKER_KIND_LABELS: Record<string, string> = { rabbitmq: "RabbitMQ", emqx: "EMQX", mosquitto: "Mosquitto" };

/** A failed close newer than the last good one is a problem; a broker that cannot close sessions is a caveat. */
export function brokerHealth(b: BrokerHealthRow): { label: string; tone: Tone } {
  if (b.lastKickErrorAt && (!b.lastKickAt || b.lastKickErrorAt > b.lastKickAt)) return { label: "Closing sessions failed", tone: "red" };
  if (!b.canCloseSessions) return { label: b.kind === "mosquitto" ? "No session closing" : "No admin API", tone: "amber" };
  return { label: "OK", tone: "green" };
}

import type { Metadata } from "next";
import { can } from "@/lib/auth/roles";
import { config } from "@/lib/config";
import { listBrokers } from "@/lib/services/brokers";
import { PageHeader } from "@/components/ui/page-header";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { BrokersPanel } from "@/components/brokers/brokers-panel";
import { createBrokerAction, deleteBrokerAction } from "./actions";
import { requireActor } from "../require-actor";

export const metadata: Metadata = { title: "Brokers" };

export default async function BrokersPage() {
  const actor = await requireActor();
  const brokers = await listBrokers(actor);
  return (
    <>
      <PageHeader title="Brokers" description="MQTT brokers that ask CertFleet who may connect and to which topics, and whose live sessions CertFleet closes." />
      <div className="space-y-4">
        <Card aria-labelledby="brokers">
          <BrokersPanel
            brokers={brokers}
            actions={{ create: createBrokerAction, remove: deleteBrokerAction }}
            canManage={can(actor.role, "brokers:manage")}
            publicUrl={config().publicUrl}
            nowMs={Date.now()}
          />
        </Card>
        <Card aria-labelledby="how">
          <CardHeader id="how" title="How it works" />
          <CardBody className="space-y-2 text-sm text-zinc-600">
            <p>
              <strong className="text-zinc-900">Auth backend.</strong> RabbitMQ&apos;s <code className="font-mono text-xs">rabbitmq_auth_backend_http</code> and EMQX&apos;s HTTP
              authentication / authorization ask CertFleet on every connection and topic: a device is allowed while it is active and has a current, unrevoked
              certificate (or a live PSK), on the topics of its policy (default <code className="font-mono text-xs">devices/{"{name}"}/#</code>). Answers come from memory and
              follow a revoke, disable or decommission within about a second on every instance.
            </p>
            <p>
              <strong className="text-zinc-900">Live sessions.</strong> A CRL is checked only at the TLS handshake. When a device loses access, CertFleet closes its open
              connections through RabbitMQ&apos;s management API or EMQX&apos;s REST API. Mosquitto has no such API: its clients stay connected until they reconnect.
            </p>
            <p>
              <strong className="text-zinc-900">Configuration.</strong> <code className="font-mono text-xs">npx certfleet broker-config --broker rabbitmq --auth-url URL</code> writes
              rabbitmq.conf and advanced.config with the URL shown at registration; the Certificate authorities page shows the same text with a placeholder.
            </p>
          </CardBody>
        </Card>
      </div>
    </>
  );
}

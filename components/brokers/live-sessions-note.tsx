// Device page: what happens to the device's open MQTT connections when it loses access.
export function LiveSessionsNote({ closingBrokers, mosquittoBrokers }: { closingBrokers: string[]; mosquittoBrokers: string[] }) {
  return (
    <div className="space-y-2 text-sm text-zinc-600" data-testid="live-sessions-note">
      <p>
        A CRL is checked only when a device connects. When this device is revoked, disabled or decommissioned, CertFleet closes its open
        connections {closingBrokers.length ? <>on <strong className="text-zinc-900">{closingBrokers.join(", ")}</strong> within seconds</> : "on registered RabbitMQ and EMQX brokers with an admin API (none yet)"}; they are refused when they try again.
      </p>
      <p>
        <strong className="text-zinc-900">Mosquitto</strong>{mosquittoBrokers.length ? ` (${mosquittoBrokers.join(", ")})` : ""} has no way to drop a connected client: this
        device stays connected there until it reconnects, and only then meets the new CRL. Restarting the listener makes every client reconnect;{" "}
        <code className="font-mono text-xs">max_keepalive</code> ends only sessions that go quiet; a short certificate lifetime limits how long a stolen key can
        reconnect, not an open session.
      </p>
    </div>
  );
}

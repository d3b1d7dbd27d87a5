// Live-session revocation on a real RabbitMQ 3.10 node: seconds from the revoke call until the
// device's MQTT connection is gone from the broker (closed by CertFleet through the management
// API), median of 5. `npm run bench` adds the line when RabbitMQ is installed; alone:
//   npx tsx bench/rabbitmq.ts
import { rabbitmqSbin, startRabbitmqFleet } from "../tests/helpers/rabbitmq";
import { api } from "../tests/helpers/http";

export interface RabbitmqBench {
  /** Seconds per round, in order. */
  samples: number[];
  medianS: number;
}

/** null when RabbitMQ is not installed. */
export async function measureRabbitmqSessionClose(rounds = 5): Promise<RabbitmqBench | null> {
  if (!rabbitmqSbin()) return null;
  const names = Array.from({ length: rounds }, (_, i) => `bench-${i + 1}`);
  const fleet = await startRabbitmqFleet(names);
  try {
    const samples: number[] = [];
    for (const name of names) {
      fleet.subscribe(name, `devices/${name}/#`);
      const connectDeadline = Date.now() + 30_000;
      while (!(await fleet.connectionsOf(name)).length) {
        if (Date.now() > connectDeadline) throw new Error(`${name} did not connect`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const started = performance.now();
      const res = await api(fleet.server.url, fleet.token, "POST", `/api/v1/certificates/${fleet.devices[name].certId}/revoke`, { reason: "keyCompromise" });
      if (res.status !== 200) throw new Error(`revoke ${name}: HTTP ${res.status}`);
      while ((await fleet.connectionsOf(name)).length) {
        if (performance.now() - started > 60_000) throw new Error(`${name} still connected after 60 s`);
        await new Promise((r) => setTimeout(r, 20));
      }
      samples.push((performance.now() - started) / 1000);
    }
    const sorted = [...samples].sort((a, b) => a - b);
    return { samples, medianS: sorted[Math.floor(sorted.length / 2)] };
  } finally {
    await fleet.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await measureRabbitmqSessionClose();
  console.log(r ? `revocation → live session closed: median ${r.medianS.toFixed(3)} s (${r.samples.map((s) => s.toFixed(3)).join(", ")})` : "RabbitMQ is not installed");
  process.exit(0);
}

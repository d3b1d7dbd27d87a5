import { Badge, type Tone } from "@/components/ui/badge";

const STATES: Record<string, { label: string; tone: Tone }> = {
  valid: { label: "Valid", tone: "green" },
  active: { label: "Active", tone: "green" },
  expiring: { label: "Expiring", tone: "amber" },
  expired: { label: "Expired", tone: "red" },
  revoked: { label: "Revoked", tone: "red" },
  superseded: { label: "Superseded", tone: "neutral" },
  hold: { label: "On hold", tone: "violet" },
  none: { label: "No certificate", tone: "neutral" },
};

/** A certificate's state (inventory's derived state or a certificate's own status). */
export function CertStateBadge({ state, className }: { state: string; className?: string }) {
  const s = STATES[state] ?? { label: state, tone: "neutral" as Tone };
  return (
    <Badge tone={s.tone} dot className={className}>
      {s.label}
    </Badge>
  );
}

const DEVICE: Record<string, Tone> = { active: "green", disabled: "amber", decommissioned: "neutral" };

export function DeviceStatusBadge({ status }: { status: string }) {
  return <Badge tone={DEVICE[status] ?? "neutral"} className="capitalize">{status}</Badge>;
}

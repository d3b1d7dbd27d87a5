"use client";
// A device's TLS-PSK: create, rotate (optionally keeping the old key valid for an overlap window),
// revoke, and reveal for admins. A key is shown once, in this component's state only: reloading
// the page does not show it again.
import { useId, useState, useTransition } from "react";
import { useRouter } from "next/navigation";
import { Eye, EyeOff, KeyRound, Plus, RotateCw, ShieldX } from "lucide-react";
import { Button } from "@/components/ui/button";
import { Badge } from "@/components/ui/badge";
import { Dialog } from "@/components/ui/dialog";
import { ConfirmDialog } from "@/components/ui/confirm-dialog";
import { CopyButton } from "@/components/ui/copy-button";
import { EmptyState } from "@/components/ui/empty-state";
import { controlClasses, FormError } from "@/components/ui/field";
import { useToast } from "@/components/ui/toast";
import { formatDateTime, relativeTime } from "@/components/ui/format";
import { cn } from "@/components/ui/cn";
import type { BoundAction } from "@/lib/auth/action";
import type { PskView } from "@/lib/services/psk";

interface Secret {
  identity: string;
  version: number;
  key: string;
  keyHex: string;
  how: "created" | "rotated" | "revealed";
}

type PskKey = { identity: string; version: number; key: string; keyHex: string };

/** The device's PSK actions, its id bound by the page. */
export interface PskActions {
  createOrRotate: BoundAction<{ identity?: string; overlapSeconds?: string } | void, PskKey>;
  revoke: BoundAction<void, { revoked: string[] }>;
  reveal: BoundAction<void, PskKey>;
}

const OVERLAPS = [
  { value: "0", label: "None — the old key stops working now" },
  { value: "3600", label: "1 hour" },
  { value: "86400", label: "24 hours" },
  { value: "604800", label: "7 days" },
  { value: "2592000", label: "30 days" },
];

export function PskPanel({ actions, deviceName, psks, canWrite, canReveal, deviceActive, nowMs }: { actions: PskActions; deviceName: string; psks: PskView[]; canWrite: boolean; canReveal: boolean; deviceActive: boolean; nowMs: number }) {
  const router = useRouter();
  const toast = useToast();
  const [secret, setSecret] = useState<Secret | null>(null);
  const [rotateOpen, setRotateOpen] = useState(false);
  const [revokeOpen, setRevokeOpen] = useState(false);
  const [revealOpen, setRevealOpen] = useState(false);
  const [pending, start] = useTransition();
  const live = psks.filter((p) => p.status === "active");
  const current = live.find((p) => p.current) ?? null;
  const overlapping = live.filter((p) => !p.current);
  const past = psks.filter((p) => p.status !== "active");
  const now = new Date(nowMs);

  function create() {
    start(async () => {
      const res = await actions.createOrRotate(null);
      if (res?.ok) {
        setSecret({ identity: res.data.identity, version: res.data.version, key: res.data.key, keyHex: res.data.keyHex, how: "created" });
        toast({ tone: "success", title: "PSK created", description: `Identity ${res.data.identity}. Copy the key now: it is shown once.` });
        router.refresh();
      } else toast({ tone: "error", title: "Could not create the PSK", description: res?.error });
    });
  }

  function revoke() {
    start(async () => {
      const res = await actions.revoke(null);
      setRevokeOpen(false);
      if (res?.ok) {
        setSecret(null);
        toast({ tone: "success", title: "PSK revoked", description: `${res.data.revoked.join(", ")} removed from the broker PSK files.` });
        router.refresh();
      } else toast({ tone: "error", title: "Could not revoke the PSK", description: res?.error });
    });
  }

  function reveal() {
    start(async () => {
      const res = await actions.reveal(null);
      setRevealOpen(false);
      if (res?.ok) setSecret({ identity: res.data.identity, version: res.data.version, key: res.data.key, keyHex: res.data.keyHex, how: "revealed" });
      else toast({ tone: "error", title: "Could not reveal the PSK", description: res?.error });
    });
  }

  return (
    <div className="space-y-3" data-testid="psk-panel">
      {secret && <SecretBox secret={secret} onHide={() => setSecret(null)} />}

      {current ? (
        <dl className="grid grid-cols-[6.5rem_1fr] gap-x-3 gap-y-1.5 text-sm">
          <dt className="text-zinc-500">Identity</dt>
          <dd className="flex items-center gap-1.5 font-mono text-xs break-all text-zinc-900" data-testid="psk-identity">
            {current.identity} <CopyButton value={current.identity} label="Copy identity" />
          </dd>
          <dt className="text-zinc-500">Status</dt>
          <dd><Badge tone="green" dot>Active</Badge> <span className="text-xs text-zinc-500">version {current.version}</span></dd>
          <dt className="text-zinc-500">Since</dt>
          <dd className="text-xs text-zinc-700" title={formatDateTime(current.createdAt)}>{relativeTime(current.createdAt, now)}</dd>
        </dl>
      ) : (
        <EmptyState className="py-6" icon={<KeyRound />} title="No PSK" description={deviceActive ? "Give the device a pre-shared key for the broker's PSK listener." : "Only active devices get a PSK."} action={canWrite && deviceActive ? <Button onClick={create} pending={pending} data-testid="psk-create"><Plus aria-hidden="true" /> Create PSK</Button> : undefined} />
      )}

      {overlapping.length > 0 && (
        <div className="rounded-md border border-amber-200 bg-amber-50 px-3 py-2 text-xs text-amber-900">
          <p className="font-medium">Still accepted during the overlap:</p>
          <ul className="mt-1 space-y-0.5">
            {overlapping.map((p) => (
              <li key={p.id} className="font-mono">
                {p.identity} <span className="font-sans text-amber-800">until {p.expiresAt ? formatDateTime(p.expiresAt) : "—"}</span>
              </li>
            ))}
          </ul>
        </div>
      )}

      {current && (canWrite || canReveal) && (
        <div className="flex flex-wrap gap-2">
          {canWrite && deviceActive && (
            <Button size="xs" variant="secondary" onClick={() => setRotateOpen(true)} data-testid="psk-rotate">
              <RotateCw aria-hidden="true" /> Rotate…
            </Button>
          )}
          {canReveal && !secret && (
            <Button size="xs" variant="secondary" onClick={() => setRevealOpen(true)}>
              <Eye aria-hidden="true" /> Reveal…
            </Button>
          )}
          {canWrite && (
            <Button size="xs" variant="outline-destructive" onClick={() => setRevokeOpen(true)}>
              <ShieldX aria-hidden="true" /> Revoke…
            </Button>
          )}
        </div>
      )}

      {past.length > 0 && (
        <details className="text-xs">
          <summary className="cursor-pointer text-zinc-500 hover:text-zinc-800">{past.length} earlier key{past.length === 1 ? "" : "s"}</summary>
          <ul className="mt-2 space-y-1">
            {past.map((p) => (
              <li key={p.id} className="flex justify-between gap-2">
                <span className="font-mono text-zinc-700">{p.identity} <span className="text-zinc-500">v{p.version}</span></span>
                <span className="text-zinc-500">{p.status} {p.revokedAt ? relativeTime(p.revokedAt, now) : p.expiresAt ? relativeTime(p.expiresAt, now) : ""}</span>
              </li>
            ))}
          </ul>
        </details>
      )}

      {rotateOpen && current && (
        <RotateDialog
          rotate={actions.createOrRotate}
          identity={current.identity}
          onClose={() => setRotateOpen(false)}
          onRotated={(s) => {
            setRotateOpen(false);
            setSecret(s);
            toast({ tone: "success", title: "PSK rotated", description: `New key for ${s.identity}. Copy it now: it is shown once.` });
            router.refresh();
          }}
        />
      )}
      <ConfirmDialog
        open={revokeOpen}
        onClose={() => setRevokeOpen(false)}
        onConfirm={revoke}
        pending={pending}
        destructive
        title="Revoke the PSK?"
        description={`Every live key of ${deviceName} leaves the broker PSK files at their next sync; the device can no longer connect with a PSK.`}
        confirmLabel="Revoke PSK"
      />
      <ConfirmDialog
        open={revealOpen}
        onClose={() => setRevealOpen(false)}
        onConfirm={reveal}
        pending={pending}
        title="Reveal the PSK?"
        description="The key is decrypted and shown to you. The reveal is written to the audit log under your name."
        confirmLabel="Reveal key"
      />
    </div>
  );
}

function SecretBox({ secret, onHide }: { secret: Secret; onHide: () => void }) {
  return (
    <div className="space-y-2 rounded-lg border border-sky-200 bg-sky-50/60 p-3" data-testid="psk-secret" role="status">
      <div className="flex items-start justify-between gap-2">
        <p className="text-xs font-medium text-sky-900">
          {secret.how === "revealed" ? "Current key" : `Key ${secret.how}`} — shown once. Copy it to the device now.
        </p>
        <button type="button" onClick={onHide} className="inline-flex items-center gap-1 rounded px-1 text-xs text-sky-800 hover:bg-sky-100">
          <EyeOff className="size-3.5" aria-hidden="true" /> Hide
        </button>
      </div>
      {[
        ["Identity", secret.identity, "psk-secret-identity"],
        ["Key", secret.key, "psk-secret-key"],
        ["Key (hex, for Mosquitto / mosquitto_pub --psk)", secret.keyHex, "psk-secret-keyhex"],
      ].map(([label, value, testId]) => (
        <div key={label}>
          <div className="text-[11px] text-sky-800">{label}</div>
          <div className="flex items-start gap-1.5">
            <code className="min-w-0 flex-1 rounded bg-white px-2 py-1 font-mono text-[11px] break-all text-zinc-900 ring-1 ring-sky-100" data-testid={testId}>{value}</code>
            <CopyButton value={value} label={`Copy ${label.toLowerCase()}`} />
          </div>
        </div>
      ))}
    </div>
  );
}

function RotateDialog({ rotate, identity, onClose, onRotated }: { rotate: PskActions["createOrRotate"]; identity: string; onClose: () => void; onRotated: (s: Secret) => void }) {
  const [overlap, setOverlap] = useState("0");
  const [newIdentity, setNewIdentity] = useState("");
  const [error, setError] = useState<{ message: string; fields: Record<string, string> } | null>(null);
  const [pending, start] = useTransition();
  const overlapId = useId();
  const identityId = useId();

  function submit(e: React.FormEvent) {
    e.preventDefault();
    start(async () => {
      const res = await rotate(null, { overlapSeconds: overlap, identity: newIdentity });
      if (res?.ok) onRotated({ identity: res.data.identity, version: res.data.version, key: res.data.key, keyHex: res.data.keyHex, how: "rotated" });
      else setError({ message: res?.error ?? "Rotation failed", fields: res?.fieldErrors ?? {} });
    });
  }

  return (
    <Dialog open onClose={onClose} busy={pending} title="Rotate PSK" description={<>A new key replaces the key of <span className="font-mono">{identity}</span>.</>}>
      <form onSubmit={submit} className="space-y-4 text-sm">
        <div className="space-y-1">
          <label htmlFor={overlapId} className="text-xs font-medium text-zinc-700">Overlap</label>
          <select id={overlapId} value={overlap} onChange={(e) => setOverlap(e.target.value)} className={cn(controlClasses, "h-8")}>
            {OVERLAPS.map((o) => (
              <option key={o.value} value={o.value}>{o.label}</option>
            ))}
          </select>
          <p className="text-xs text-zinc-500">
            {overlap === "0" ? "Same identity, new key: devices with the old key are refused at the broker's next sync." : "A new identity version is created; the old identity keeps its key until the overlap ends, so devices can switch over."}
          </p>
          {error?.fields.overlapSeconds && <p className="text-xs text-red-600">{error.fields.overlapSeconds}</p>}
        </div>
        <div className="space-y-1">
          <label htmlFor={identityId} className="text-xs font-medium text-zinc-700">New identity (optional)</label>
          <input id={identityId} value={newIdentity} onChange={(e) => setNewIdentity(e.target.value)} placeholder="Chosen automatically" autoComplete="off" spellCheck={false} aria-invalid={!!error?.fields.identity} className={cn(controlClasses, "h-8 font-mono")} />
          {error?.fields.identity && <p className="text-xs text-red-600">{error.fields.identity}</p>}
        </div>
        {error && !error.fields.identity && !error.fields.overlapSeconds && <FormError message={error.message} />}
        <div className="flex justify-end gap-2">
          <Button variant="secondary" onClick={onClose} disabled={pending}>Cancel</Button>
          <Button type="submit" pending={pending}>Rotate PSK</Button>
        </div>
      </form>
    </Dialog>
  );
}

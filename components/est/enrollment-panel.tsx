"use client";
// The device page's "Enrollment (EST)" panel: how the device gets its certificates without an
// operator (a pending one-time secret, a bootstrap CA, re-enrollment by itself, or never), its last
// EST enrollment, and ready-to-paste client commands. A new secret's password lives only in this
// component's state: shown once in the dialog, gone when it closes (only its hash is stored).
import { useState, useTransition } from "react";
import { useRouter } from "next/navigation";
import { KeyRound, TriangleAlert } from "lucide-react";
import { Badge, type Tone } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { CopyButton } from "@/components/ui/copy-button";
import { Dialog } from "@/components/ui/dialog";
import { useToast } from "@/components/ui/toast";
import { formatDateTime } from "@/components/ui/format";
import type { BoundAction } from "@/lib/auth/action";
import { curlEnrollCommand, curlReenrollCommand, strongswanEnrollCommand, strongswanReenrollCommand, type EstTarget } from "./est-commands";

export interface EnrollmentState {
  enrolledBy: string | null;
  enrolledAt: Date | null;
  bootstrapCa: string | null;
  pendingSecret: { expiresAt: Date; createdAt: Date } | null;
}

interface CreatedSecret {
  username: string;
  password: string;
  expiresAt: Date;
  estUrl: string;
}

export type CreateSecretAction = BoundAction<void, CreatedSecret>;

const HOW: Record<string, string> = {
  secret: "with a one-time secret",
  bootstrap: "with a bootstrap (manufacturer) certificate",
  reenroll: "by re-enrollment with its previous certificate",
};

function mode(state: EnrollmentState): { label: string; tone: Tone; detail?: string } {
  if (state.pendingSecret) return { label: "Secret pending", tone: "amber", detail: `until ${formatDateTime(state.pendingSecret.expiresAt)}` };
  if (state.enrolledBy === "bootstrap") return { label: "Bootstrap CA", tone: "blue", detail: state.bootstrapCa ? `${state.bootstrapCa}; re-enrolls by itself` : "re-enrolls by itself" };
  if (state.enrolledBy) return { label: "Re-enrolls by itself", tone: "green", detail: "simplereenroll with its current certificate" };
  return { label: "Never enrolled", tone: "neutral", detail: "no EST enrollment yet" };
}

export function EnrollmentPanel({
  state,
  target,
  deviceName,
  reenrollSubject,
  canWrite,
  deviceActive,
  createSecret,
}: {
  state: EnrollmentState;
  target: EstTarget;
  deviceName: string;
  /** The current certificate's subject as openssl -subj, when the device has one to re-enroll with. */
  reenrollSubject: string | null;
  canWrite: boolean;
  deviceActive: boolean;
  createSecret: CreateSecretAction;
}) {
  const router = useRouter();
  const toast = useToast();
  const [secret, setSecret] = useState<CreatedSecret | null>(null);
  const [pending, start] = useTransition();
  const m = mode(state);

  function create() {
    start(async () => {
      const res = await createSecret(null, undefined);
      if (res?.ok) {
        setSecret(res.data);
        router.refresh();
      } else toast({ tone: "error", title: "Could not create the enrollment secret", description: res?.error });
    });
  }

  return (
    <div className="space-y-3 text-sm" data-testid="est-panel">
      <dl className="grid grid-cols-[6.5rem_1fr] gap-x-3 gap-y-1.5">
        <dt className="text-zinc-500">Enrolls</dt>
        <dd data-testid="est-mode">
          <Badge tone={m.tone} dot>{m.label}</Badge>
          {m.detail && <span className="ml-1.5 text-xs text-zinc-600">{m.detail}</span>}
        </dd>
        <dt className="text-zinc-500">Last</dt>
        <dd className="text-xs text-zinc-700" data-testid="est-last">
          {state.enrolledAt && state.enrolledBy ? `${formatDateTime(state.enrolledAt)}, ${HOW[state.enrolledBy] ?? state.enrolledBy}` : "—"}
        </dd>
        <dt className="text-zinc-500">EST URL</dt>
        <dd className="flex items-start gap-1.5">
          <span className="font-mono text-[11px] break-all text-zinc-700">{target.url}</span>
          <CopyButton value={target.url} label="Copy EST URL" />
        </dd>
      </dl>

      {canWrite && deviceActive && (
        <Button size="xs" variant="secondary" onClick={create} pending={pending} data-testid="est-create-secret">
          <KeyRound aria-hidden="true" /> Create enrollment secret
        </Button>
      )}

      {reenrollSubject && (
        <details className="rounded-md border border-zinc-200">
          <summary className="cursor-pointer px-3 py-2 text-xs font-medium text-zinc-700">Re-enroll command (the device renews itself)</summary>
          <div className="space-y-3 border-t border-zinc-200 p-3">
            <Command title="curl + OpenSSL" value={curlReenrollCommand(target, reenrollSubject)} testId="est-reenroll-curl" />
            {target.isDefault && <Command title="strongSwan pki --est" value={strongswanReenrollCommand(target, reenrollSubject)} testId="est-reenroll-strongswan" />}
          </div>
        </details>
      )}

      {secret && <SecretDialog secret={secret} target={target} deviceName={deviceName} onClose={() => setSecret(null)} />}
    </div>
  );
}

function Command({ title, value, testId }: { title: string; value: string; testId: string }) {
  return (
    <div>
      <div className="mb-1 flex items-center justify-between gap-2">
        <span className="text-xs font-medium text-zinc-700">{title}</span>
        <CopyButton value={value} label={`Copy ${title} command`} />
      </div>
      <pre className="max-h-56 overflow-auto rounded-md bg-zinc-50 p-2 font-mono text-[11px] leading-snug whitespace-pre-wrap break-all text-zinc-800 ring-1 ring-zinc-200" data-testid={testId}>
        {value}
      </pre>
    </div>
  );
}

function SecretDialog({ secret, target, deviceName, onClose }: { secret: CreatedSecret; target: EstTarget; deviceName: string; onClose: () => void }) {
  return (
    <Dialog
      open
      onClose={onClose}
      size="lg"
      title="Enrollment secret"
      description={<>One-time EST secret for <span className="font-mono text-zinc-700">{deviceName}</span>, valid until {formatDateTime(secret.expiresAt)}.</>}
      footer={<Button onClick={onClose} data-testid="est-secret-close">Done</Button>}
    >
      <div className="space-y-4 text-sm" data-testid="est-secret-dialog">
        <div className="flex gap-3 rounded-lg border border-amber-200 bg-amber-50 p-3 text-amber-900">
          <TriangleAlert className="mt-0.5 size-4 shrink-0" aria-hidden="true" />
          <div>
            <p className="font-medium">The password is shown only now.</p>
            <p className="mt-0.5 text-xs">CertFleet keeps only its hash. It enrolls the device once; if it is lost, create another.</p>
          </div>
        </div>
        <dl className="grid grid-cols-[6rem_1fr] gap-x-3 gap-y-2">
          {[
            ["Username", secret.username, "est-secret-username"],
            ["Password", secret.password, "est-secret-password"],
            ["EST URL", `${target.url}simpleenroll`, "est-secret-url"],
          ].map(([label, value, testId]) => (
            <div key={label} className="contents">
              <dt className="pt-1 text-xs text-zinc-500">{label}</dt>
              <dd className="flex items-start gap-1.5">
                <code className="min-w-0 flex-1 rounded bg-zinc-50 px-2 py-1 font-mono text-[11px] break-all text-zinc-900 ring-1 ring-zinc-200" data-testid={testId}>{value}</code>
                <CopyButton value={value} label={`Copy ${label.toLowerCase()}`} />
              </dd>
            </div>
          ))}
        </dl>
        <Command title="curl + OpenSSL" value={curlEnrollCommand(target, deviceName, secret.username, secret.password)} testId="est-enroll-curl" />
        {target.isDefault ? (
          <Command title="strongSwan pki --est" value={strongswanEnrollCommand(target, deviceName, secret.username, secret.password)} testId="est-enroll-strongswan" />
        ) : (
          <p className="text-xs text-zinc-600">strongSwan&apos;s <span className="font-mono">pki --est</span> cannot name a CA label; it enrolls at the default issuing CA only.</p>
        )}
      </div>
    </Dialog>
  );
}

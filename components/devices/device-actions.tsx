"use client";
// Device-level actions: disable / enable, and decommission (final; confirmed by typing the name).
import { useState, useTransition } from "react";
import { useRouter } from "next/navigation";
import { Ban, CirclePlay, PowerOff } from "lucide-react";
import { Button } from "@/components/ui/button";
import { ConfirmDialog } from "@/components/ui/confirm-dialog";
import { useToast } from "@/components/ui/toast";
import type { BoundAction } from "@/lib/auth/action";

/** The device's actions, its id bound by the page. */
export interface DeviceActionsProps {
  update: BoundAction<{ status: "active" | "disabled" }, unknown>;
  decommission: BoundAction<void, unknown>;
}

export function DeviceActions({ actions, name, status, liveCertificates, hasPsk }: { actions: DeviceActionsProps; name: string; status: string; liveCertificates: number; hasPsk: boolean }) {
  const router = useRouter();
  const toast = useToast();
  const [pending, start] = useTransition();
  const [confirm, setConfirm] = useState<"disable" | "decommission" | null>(null);

  function setStatus(next: "active" | "disabled") {
    start(async () => {
      const res = await actions.update(null, { status: next });
      setConfirm(null);
      if (res?.ok) {
        toast({ tone: "success", title: next === "disabled" ? `${name} disabled` : `${name} enabled` });
        router.refresh();
      } else toast({ tone: "error", title: "Could not change the device", description: res?.error });
    });
  }

  function decommission() {
    start(async () => {
      const res = await actions.decommission(null);
      setConfirm(null);
      if (res?.ok) {
        toast({ tone: "success", title: `${name} decommissioned`, description: "Its certificates and PSKs are revoked." });
        router.refresh();
      } else toast({ tone: "error", title: "Could not decommission", description: res?.error });
    });
  }

  if (status === "decommissioned") return null;
  return (
    <>
      {status === "active" ? (
        <Button variant="secondary" onClick={() => setConfirm("disable")}>
          <Ban aria-hidden="true" /> Disable
        </Button>
      ) : (
        <Button variant="secondary" onClick={() => setStatus("active")} pending={pending}>
          <CirclePlay aria-hidden="true" /> Enable
        </Button>
      )}
      <Button variant="outline-destructive" onClick={() => setConfirm("decommission")}>
        <PowerOff aria-hidden="true" /> Decommission…
      </Button>
      <ConfirmDialog
        open={confirm === "disable"}
        onClose={() => setConfirm(null)}
        onConfirm={() => setStatus("disabled")}
        pending={pending}
        title={`Disable ${name}?`}
        description="A disabled device gets no new certificates or PSKs. Its current credentials are not revoked: revoke them to lock it out."
        confirmLabel="Disable device"
      />
      <ConfirmDialog
        open={confirm === "decommission"}
        onClose={() => setConfirm(null)}
        onConfirm={decommission}
        pending={pending}
        destructive
        confirmText={name}
        title={`Decommission ${name}?`}
        confirmLabel="Decommission device"
      >
        <ul className="list-disc space-y-1 pl-5 text-zinc-600">
          <li>
            {liveCertificates === 0 ? "It has no unrevoked certificate." : `${liveCertificates} certificate${liveCertificates === 1 ? "" : "s"} will be revoked (reason: cessation of operation) and listed on the CRL.`}
          </li>
          <li>{hasPsk ? "Its PSK is revoked and leaves the broker PSK files." : "It has no PSK."}</li>
          <li>This is final: a decommissioned device cannot be enabled again. Its history stays in the audit log.</li>
        </ul>
      </ConfirmDialog>
    </>
  );
}

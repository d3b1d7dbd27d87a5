"use client";
import { useState, useTransition } from "react";
import { ShieldCheck, ShieldAlert } from "lucide-react";
import { Button } from "@/components/ui/button";
import { useToast } from "@/components/ui/toast";
import { formatNumber } from "@/components/ui/format";
import type { BoundAction } from "@/lib/auth/action";
import type { ChainVerdict } from "@/lib/services/audit";

export function VerifyChainButton({ verifyChain }: { verifyChain: BoundAction<void, ChainVerdict> }) {
  const toast = useToast();
  const [pending, start] = useTransition();
  const [verdict, setVerdict] = useState<{ ok: boolean; text: string } | null>(null);

  function verify() {
    start(async () => {
      const res = await verifyChain(null);
      if (!res?.ok) {
        toast({ tone: "error", title: "Verification failed to run", description: res?.error });
        return;
      }
      const v = res.data;
      const text = v.ok ? `Chain intact: ${formatNumber(v.checked)} events verified.` : `Chain broken at event ${v.brokenAt}: ${v.reason}.`;
      setVerdict({ ok: v.ok, text });
      toast({ tone: v.ok ? "success" : "error", title: v.ok ? "Audit chain intact" : "Audit chain broken", description: text });
    });
  }

  return (
    <div className="flex flex-wrap items-center gap-3">
      {verdict && (
        <span role="status" data-testid="chain-verdict" className={`inline-flex items-center gap-1.5 text-sm ${verdict.ok ? "text-emerald-700" : "text-red-700"}`}>
          {verdict.ok ? <ShieldCheck className="size-4" aria-hidden="true" /> : <ShieldAlert className="size-4" aria-hidden="true" />}
          {verdict.text}
        </span>
      )}
      <Button variant="secondary" onClick={verify} pending={pending} data-testid="verify-chain">
        {!pending && <ShieldCheck aria-hidden="true" />} Verify chain
      </Button>
    </div>
  );
}

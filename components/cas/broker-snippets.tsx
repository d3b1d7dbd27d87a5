"use client";
// Broker configuration (the same text as `certfleet broker-config`), one tab per broker.
import { useId, useState } from "react";
import { CopyButton } from "@/components/ui/copy-button";
import { cn } from "@/components/ui/cn";

export function BrokerSnippets({ snippets }: { snippets: { broker: string; label: string; text: string }[] }) {
  const [active, setActive] = useState(snippets[0]?.broker);
  const base = useId();
  const current = snippets.find((s) => s.broker === active) ?? snippets[0];
  if (!current) return null;
  return (
    <div>
      <div role="tablist" aria-label="Broker" className="flex gap-1 border-b border-zinc-200 px-4">
        {snippets.map((s) => (
          <button
            key={s.broker}
            id={`${base}-tab-${s.broker}`}
            role="tab"
            type="button"
            aria-selected={s.broker === current.broker}
            aria-controls={`${base}-panel`}
            onClick={() => setActive(s.broker)}
            onKeyDown={(e) => {
              if (e.key !== "ArrowRight" && e.key !== "ArrowLeft") return;
              const i = snippets.findIndex((x) => x.broker === current.broker);
              const next = snippets[(i + (e.key === "ArrowRight" ? 1 : snippets.length - 1)) % snippets.length];
              setActive(next.broker);
              document.getElementById(`${base}-tab-${next.broker}`)?.focus();
            }}
            tabIndex={s.broker === current.broker ? 0 : -1}
            className={cn("-mb-px border-b-2 px-3 py-2 text-sm", s.broker === current.broker ? "border-zinc-900 font-medium text-zinc-900" : "border-transparent text-zinc-500 hover:text-zinc-800")}
          >
            {s.label}
          </button>
        ))}
      </div>
      <div id={`${base}-panel`} role="tabpanel" aria-labelledby={`${base}-tab-${current.broker}`} className="relative">
        <CopyButton value={current.text} label={`Copy ${current.label} configuration`} showLabel className="absolute top-3 right-4" />
        <pre className="max-h-[28rem] overflow-auto bg-zinc-950 px-4 py-3 font-mono text-[11.5px] leading-relaxed text-zinc-100" tabIndex={0} aria-label={`${current.label} configuration`}>
          {current.text}
        </pre>
      </div>
    </div>
  );
}

import { CopyButton } from "@/components/ui/copy-button";

export function UrlRow({ label, url }: { label: string; url: string }) {
  return (
    <>
      <dt className="text-zinc-500">{label}</dt>
      <dd className="flex min-w-0 items-center gap-1.5">
        <a href={url} className="min-w-0 truncate font-mono text-xs text-zinc-800 hover:underline">{url}</a>
        <CopyButton value={url} label={`Copy ${label} URL`} />
      </dd>
    </>
  );
}

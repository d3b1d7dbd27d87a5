import Link from "next/link";
import type { Metadata } from "next";
import { ChevronRight, Lock } from "lucide-react";
import { can } from "@/lib/auth/roles";
import { PageHeader } from "@/components/ui/page-header";
import { EmptyState } from "@/components/ui/empty-state";
import { ImportWizard } from "@/components/import/import-wizard";
import { requireActor } from "../../require-actor";
import { importChunkAction, previewImportAction } from "./actions";

export const metadata: Metadata = { title: "Import devices" };

export default async function ImportPage() {
  const actor = await requireActor();
  return (
    <>
      <nav aria-label="Breadcrumb" className="mb-2 flex items-center gap-1 text-xs text-zinc-500">
        <Link href="/devices" className="hover:text-zinc-900">Devices</Link>
        <ChevronRight className="size-3" aria-hidden="true" />
        <span aria-current="page" className="text-zinc-700">Import</span>
      </nav>
      <PageHeader title="Import devices" description="Onboard a fleet from a CSV file: check every row first, then import with progress." />
      {can(actor.role, "devices:write") ? (
        <ImportWizard actions={{ preview: previewImportAction, importChunk: importChunkAction }} canIssue={can(actor.role, "certificates:write")} />
      ) : (
        <EmptyState icon={<Lock />} title="Importing needs the operator or admin role" description={`You are signed in as ${actor.role}.`} />
      )}
    </>
  );
}

"use client";
// Step 3 of the import: progress through the chunks, and a way to stop after the one in flight.
import { Button } from "@/components/ui/button";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { Progress } from "@/components/ui/progress";
import { formatNumber } from "@/components/ui/format";
import type { ImportWizardState } from "./use-import-wizard";

export function ImportingStep({ wizard }: { wizard: ImportWizardState }) {
  const { progress, options, stop } = wizard;
  return (
    <Card>
      <CardHeader title="3. Importing…" description="Keep this page open. Already imported chunks stay imported if you stop." />
      <CardBody className="space-y-3" data-testid="import-progress">
        <div className="flex justify-between text-xs text-zinc-600 tabular-nums">
          <span>{options.withCredentials ? "Creating devices and issuing certificates" : "Creating devices"}</span>
          <span>{formatNumber(progress.done)} / {formatNumber(progress.total)}</span>
        </div>
        <Progress value={progress.done} max={progress.total} label="Import progress" />
        <Button variant="secondary" size="xs" onClick={stop}>Stop after this chunk</Button>
      </CardBody>
    </Card>
  );
}

"use client";
// CSV onboarding: the file is parsed and checked in the browser at once, then dry-run on the
// server chunk by chunk (names already taken, the same validation again); the import runs only
// after an explicit confirmation, in chunks with progress. Generated credentials are collected in
// memory and handed out as one ZIP, once. State and work live in useImportWizard; each phase
// renders itself.
import { DoneStep } from "./done-step";
import { ImportingStep } from "./importing-step";
import { PickFileStep } from "./pick-file-step";
import { PreviewStep } from "./preview-step";
import { useImportWizard, type ImportActions } from "./use-import-wizard";

export function ImportWizard({ actions, canIssue }: { actions: ImportActions; canIssue: boolean }) {
  const wizard = useImportWizard(actions);
  const { phase, parsed, outcome } = wizard;
  return (
    <div className="space-y-4">
      {(phase === "pick" || phase === "checking") && <PickFileStep wizard={wizard} canIssue={canIssue} />}
      {phase === "preview" && parsed && <PreviewStep wizard={wizard} parsed={parsed} />}
      {phase === "importing" && <ImportingStep wizard={wizard} />}
      {phase === "done" && outcome && <DoneStep wizard={wizard} outcome={outcome} />}
    </div>
  );
}

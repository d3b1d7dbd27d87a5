"use client";
// Confirmation for destructive or far-reaching actions. `confirmText` makes the operator type a
// word (a device name, "REVOKE") so a reflexive Enter cannot do damage.
import { useId, useState, type ReactNode } from "react";
import { Dialog } from "./dialog";
import { Button } from "./button";
import { controlClasses } from "./field";
import { cn } from "./cn";

export interface ConfirmDialogProps {
  open: boolean;
  onClose: () => void;
  onConfirm: () => void | Promise<void>;
  title: ReactNode;
  description?: ReactNode;
  children?: ReactNode;
  confirmLabel: string;
  destructive?: boolean;
  confirmText?: string;
  pending?: boolean;
  /** Extra reason the confirm button is disabled (e.g. a required choice missing). */
  blocked?: boolean;
}

export function ConfirmDialog({ open, onClose, onConfirm, title, description, children, confirmLabel, destructive, confirmText, pending, blocked }: ConfirmDialogProps) {
  const [typed, setTyped] = useState("");
  const id = useId();
  const matches = !confirmText || typed.trim() === confirmText;
  const close = () => {
    setTyped("");
    onClose();
  };
  return (
    <Dialog
      open={open}
      onClose={close}
      title={title}
      description={description}
      busy={pending}
      size="md"
      footer={
        <>
          <Button variant="secondary" onClick={close} disabled={pending}>Cancel</Button>
          <Button
            variant={destructive ? "destructive" : "primary"}
            pending={pending}
            disabled={!matches || blocked}
            onClick={async () => {
              await onConfirm();
              setTyped("");
            }}
          >
            {confirmLabel}
          </Button>
        </>
      }
    >
      <div className="space-y-4 text-sm">
        {children}
        {confirmText && (
          <div className="space-y-1">
            <label htmlFor={id} className="text-xs font-medium text-zinc-700">
              Type <span className="font-mono font-semibold text-zinc-900">{confirmText}</span> to confirm
            </label>
            <input id={id} value={typed} onChange={(e) => setTyped(e.target.value)} autoComplete="off" spellCheck={false} className={cn(controlClasses, "h-8 font-mono")} />
          </div>
        )}
      </div>
    </Dialog>
  );
}

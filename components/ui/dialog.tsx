"use client";
// Modal dialog on the native <dialog> element: the rest of the page is inert while it is open and
// Escape closes it. Tab is kept inside here (a native modal dialog lets Tab leave for the
// browser's own controls after its last element), and focus goes back to what had it.
import { useEffect, useId, useRef, type KeyboardEvent, type ReactNode } from "react";
import { X } from "lucide-react";
import { cn } from "./cn";

export interface DialogProps {
  open: boolean;
  onClose: () => void;
  title: ReactNode;
  description?: ReactNode;
  children?: ReactNode;
  footer?: ReactNode;
  size?: "sm" | "md" | "lg";
  /** While true, Escape and the backdrop do not close (e.g. during work that must finish). */
  busy?: boolean;
}

const WIDTHS = { sm: "max-w-md", md: "max-w-lg", lg: "max-w-2xl" };

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]):not([type="hidden"]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

/** Wraps Tab from the last focusable element to the first, and Shift+Tab the other way. */
function keepFocusInside(e: KeyboardEvent<HTMLDialogElement>) {
  if (e.key !== "Tab") return;
  const items = [...e.currentTarget.querySelectorAll<HTMLElement>(FOCUSABLE)].filter((el) => el.offsetParent !== null || el === document.activeElement);
  if (!items.length) return;
  const first = items[0];
  const last = items[items.length - 1];
  const active = document.activeElement;
  if (e.shiftKey && (active === first || !e.currentTarget.contains(active))) {
    e.preventDefault();
    last.focus();
  } else if (!e.shiftKey && (active === last || !e.currentTarget.contains(active))) {
    e.preventDefault();
    first.focus();
  }
}

export function Dialog({ open, onClose, title, description, children, footer, size = "md", busy }: DialogProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const descId = useId();

  // Where focus goes back to. The browser's own restore does not apply here: the dialog's content
  // unmounts (and focus falls to <body>) before close() runs.
  const returnTo = useRef<HTMLElement | null>(null);

  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    if (open && !el.open) {
      returnTo.current = document.activeElement instanceof HTMLElement ? document.activeElement : null;
      el.showModal();
    }
    if (!open && el.open) {
      el.close();
      if (returnTo.current?.isConnected) returnTo.current.focus();
      returnTo.current = null;
    }
  }, [open]);

  useEffect(() => {
    const el = ref.current;
    return () => {
      // Unmounted while open (a dialog rendered only while it is needed): focus goes back too. A
      // still-connected element is React's development remount, not a close.
      if (el && !el.isConnected && returnTo.current?.isConnected) returnTo.current.focus();
    };
  }, []);

  return (
    <dialog
      ref={ref}
      aria-labelledby={titleId}
      aria-describedby={description ? descId : undefined}
      onCancel={(e) => {
        e.preventDefault();
        if (!busy) onClose();
      }}
      onClick={(e) => {
        if (e.target === e.currentTarget && !busy) onClose();
      }}
      onKeyDown={keepFocusInside}
      className={cn(
        "m-auto w-[calc(100%-2rem)] rounded-xl border border-zinc-200 bg-white p-0 text-zinc-900 shadow-xl backdrop:bg-zinc-950/40 backdrop:backdrop-blur-[1px]",
        WIDTHS[size],
      )}
    >
      {open && (
        <div className="flex max-h-[85vh] flex-col">
          <div className="flex items-start justify-between gap-4 px-5 pt-5">
            <div>
              <h2 id={titleId} className="text-base font-semibold">{title}</h2>
              {description && <div id={descId} className="mt-1 text-sm text-zinc-500">{description}</div>}
            </div>
            <button type="button" onClick={onClose} disabled={busy} aria-label="Close dialog" className="-mr-1 -mt-1 rounded-md p-1 text-zinc-400 hover:bg-zinc-100 hover:text-zinc-700 disabled:opacity-40">
              <X className="size-4" aria-hidden="true" />
            </button>
          </div>
          <div className="min-h-0 flex-1 overflow-y-auto px-5 py-4">{children}</div>
          {footer && <div className="flex flex-wrap justify-end gap-2 border-t border-zinc-100 bg-zinc-50/60 px-5 py-3">{footer}</div>}
        </div>
      )}
    </dialog>
  );
}

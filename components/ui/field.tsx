// Form controls with a label, a hint and a field error wired up with aria-describedby.
import type { InputHTMLAttributes, ReactNode, SelectHTMLAttributes, TextareaHTMLAttributes } from "react";
import { cn } from "./cn";

/** Input look without a width: for inline controls (filters, table cells) that size to content. */
export const controlBase =
  "block rounded-md border border-zinc-300 bg-white px-2.5 text-sm text-zinc-900 shadow-xs outline-none placeholder:text-zinc-500 " +
  "focus:border-zinc-500 focus:ring-2 focus:ring-zinc-200 disabled:bg-zinc-50 disabled:text-zinc-500 aria-[invalid=true]:border-red-400 aria-[invalid=true]:ring-red-100";

export const controlClasses = `${controlBase} w-full`;

export function Label({ htmlFor, children, className }: { htmlFor: string; children: ReactNode; className?: string }) {
  return (
    <label htmlFor={htmlFor} className={cn("text-xs font-medium text-zinc-700", className)}>
      {children}
    </label>
  );
}

interface FieldShell {
  id: string;
  label: ReactNode;
  hint?: ReactNode;
  error?: string;
  className?: string;
  srOnlyLabel?: boolean;
}

function describedBy(id: string, hint?: ReactNode, error?: string) {
  return [hint ? `${id}-hint` : "", error ? `${id}-error` : ""].filter(Boolean).join(" ") || undefined;
}

function Shell({ id, label, hint, error, className, srOnlyLabel, children }: FieldShell & { children: ReactNode }) {
  return (
    <div className={cn("space-y-1", className)}>
      <Label htmlFor={id} className={srOnlyLabel ? "sr-only" : undefined}>{label}</Label>
      {children}
      {hint && !error && <p id={`${id}-hint`} className="text-xs text-zinc-500">{hint}</p>}
      {error && <p id={`${id}-error`} className="text-xs text-red-600">{error}</p>}
    </div>
  );
}

export function TextField({ id, label, hint, error, className, srOnlyLabel, ...input }: FieldShell & InputHTMLAttributes<HTMLInputElement>) {
  return (
    <Shell id={id} label={label} hint={hint} error={error} className={className} srOnlyLabel={srOnlyLabel}>
      <input id={id} aria-invalid={error ? true : undefined} aria-describedby={describedBy(id, hint, error)} className={cn(controlClasses, "h-8")} {...input} />
    </Shell>
  );
}

export function SelectField({ id, label, hint, error, className, srOnlyLabel, children, ...select }: FieldShell & SelectHTMLAttributes<HTMLSelectElement>) {
  return (
    <Shell id={id} label={label} hint={hint} error={error} className={className} srOnlyLabel={srOnlyLabel}>
      <select id={id} aria-invalid={error ? true : undefined} aria-describedby={describedBy(id, hint, error)} className={cn(controlClasses, "h-8 pr-8")} {...select}>
        {children}
      </select>
    </Shell>
  );
}

export function TextareaField({ id, label, hint, error, className, srOnlyLabel, ...area }: FieldShell & TextareaHTMLAttributes<HTMLTextAreaElement>) {
  return (
    <Shell id={id} label={label} hint={hint} error={error} className={className} srOnlyLabel={srOnlyLabel}>
      <textarea id={id} aria-invalid={error ? true : undefined} aria-describedby={describedBy(id, hint, error)} className={cn(controlClasses, "py-2 font-mono text-xs")} {...area} />
    </Shell>
  );
}

export function FormError({ message }: { message?: string | null }) {
  if (!message) return null;
  return (
    <p role="alert" className="rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-700">
      {message}
    </p>
  );
}

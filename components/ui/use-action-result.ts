"use client";
// Runs `handler` once per new result of a useActionState action (toasts, navigation, closing a
// dialog), however often the component re-renders afterwards.
import { useEffect, useRef } from "react";

export function useActionResult<S extends object | null>(state: S, handler: (state: NonNullable<S>) => void) {
  const seen = useRef<S | null>(null);
  useEffect(() => {
    if (state && seen.current !== state) {
      seen.current = state;
      handler(state as NonNullable<S>);
    }
  }, [state, handler]);
}

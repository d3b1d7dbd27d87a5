"use client";
import { useEffect } from "react";
import { TriangleAlert } from "lucide-react";
import { Button } from "@/components/ui/button";
import { EmptyState } from "@/components/ui/empty-state";

export default function DashboardError({ error, reset }: { error: Error & { digest?: string }; reset: () => void }) {
  useEffect(() => {
    console.error(error);
  }, [error]);
  return (
    <EmptyState
      icon={<TriangleAlert />}
      title="This page could not be loaded"
      description={<>Something went wrong on the server. Try again; if it keeps failing, the server log has the details{error.digest ? <> (reference <span className="font-mono">{error.digest}</span>)</> : null}.</>}
      action={<Button onClick={reset}>Try again</Button>}
    />
  );
}

import Link from "next/link";
import { Compass } from "lucide-react";
import { EmptyState } from "@/components/ui/empty-state";
import { buttonClasses } from "@/components/ui/button";

export default function NotFound() {
  return <EmptyState icon={<Compass />} title="Page not found" description="The link may be outdated." action={<Link href="/" className={buttonClasses("secondary")}>Go to the overview</Link>} />;
}

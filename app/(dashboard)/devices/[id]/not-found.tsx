import Link from "next/link";
import { Cpu } from "lucide-react";
import { EmptyState } from "@/components/ui/empty-state";
import { buttonClasses } from "@/components/ui/button";

export default function DeviceNotFound() {
  return <EmptyState icon={<Cpu />} title="Device not found" description="It may have been removed, or the link is wrong." action={<Link href="/devices" className={buttonClasses("secondary")}>Back to devices</Link>} />;
}

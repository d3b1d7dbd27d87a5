"use client";
import Link from "next/link";
import { usePathname } from "next/navigation";
import { Cpu, LayoutDashboard, RadioTower, ScrollText, Settings, ShieldCheck, Upload } from "lucide-react";
import { cn } from "@/components/ui/cn";

const NAV = [
  { href: "/", label: "Overview", icon: LayoutDashboard, exact: true },
  { href: "/devices", label: "Devices", icon: Cpu, exact: false, not: "/devices/import" },
  { href: "/devices/import", label: "Import", icon: Upload, exact: false },
  { href: "/cas", label: "Certificate authorities", icon: ShieldCheck, exact: false },
  { href: "/brokers", label: "Brokers", icon: RadioTower, exact: false },
  { href: "/audit", label: "Audit log", icon: ScrollText, exact: false },
  { href: "/settings", label: "Settings", icon: Settings, exact: false },
];

export function NavLinks({ orientation = "vertical", canImport = true }: { orientation?: "vertical" | "horizontal"; canImport?: boolean }) {
  const pathname = usePathname();
  return (
    <ul className={cn(orientation === "vertical" ? "space-y-0.5" : "flex gap-1")}>
      {NAV.filter((item) => canImport || item.href !== "/devices/import").map(({ href, label, icon: Icon, exact, not }) => {
        const active = exact ? pathname === href : (pathname === href || pathname.startsWith(`${href}/`)) && !(not && pathname.startsWith(not));
        return (
          <li key={href}>
            <Link
              href={href}
              aria-current={active ? "page" : undefined}
              className={cn(
                "flex items-center gap-2.5 rounded-md px-2.5 py-1.5 text-sm whitespace-nowrap transition-colors focus-visible:outline-2 focus-visible:outline-zinc-900",
                active ? "bg-zinc-100 font-medium text-zinc-900" : "text-zinc-600 hover:bg-zinc-50 hover:text-zinc-900",
              )}
            >
              <Icon className={cn("size-4", active ? "text-zinc-900" : "text-zinc-400")} aria-hidden="true" />
              {label}
            </Link>
          </li>
        );
      })}
    </ul>
  );
}

// Roles and what each may do. Every entry point checks a permission through one wrapper
// (lib/auth/action.ts for server actions, lib/api/route.ts for REST), and services check again.
import { AppError } from "../errors";

export const ROLES = ["admin", "operator", "viewer", "broker", "metrics"] as const;
export type Role = (typeof ROLES)[number];

export const PERMISSIONS = [
  "devices:read",
  "devices:write",
  "certificates:read",
  "certificates:write",
  "psk:read",
  "psk:write",
  "psk:reveal",
  "cas:read",
  "cas:write",
  "audit:read",
  "users:manage",
  "tokens:manage",
  "broker:read",
  "metrics:read",
  "notifications:manage",
  "brokers:read",
  "brokers:manage",
] as const;
export type Permission = (typeof PERMISSIONS)[number];

const READ: Permission[] = ["devices:read", "certificates:read", "psk:read", "cas:read", "audit:read", "brokers:read"];

const GRANTS: Record<Role, ReadonlySet<Permission>> = {
  admin: new Set(PERMISSIONS),
  operator: new Set<Permission>([...READ, "devices:write", "certificates:write", "psk:write"]),
  viewer: new Set<Permission>(READ),
  // Brokers fetch what they need to check devices and nothing else.
  broker: new Set<Permission>(["broker:read", "metrics:read"]),
  // Prometheus: GET /metrics and nothing else.
  metrics: new Set<Permission>(["metrics:read"]),
};

export function isRole(value: unknown): value is Role {
  return typeof value === "string" && (ROLES as readonly string[]).includes(value);
}

export function can(role: Role, permission: Permission): boolean {
  return GRANTS[role].has(permission);
}

/** Who is acting: a signed-in user, an API token, or the system itself (first start, CLI, jobs). */
export interface Actor {
  kind: "user" | "token" | "system";
  id: string;
  /** Human-readable: the user's email, the token's name, or "system". */
  label: string;
  role: Role;
}

export const SYSTEM_ACTOR: Actor = { kind: "system", id: "system", label: "system", role: "admin" };

export function actorRef(actor: Actor): string {
  return actor.kind === "system" ? "system" : `${actor.kind}:${actor.id}`;
}

export function authorize(actor: Actor, permission: Permission): void {
  if (!can(actor.role, permission)) {
    throw new AppError("FORBIDDEN", `The ${actor.role} role may not do this (needs ${permission}).`);
  }
}

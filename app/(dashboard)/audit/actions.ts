"use server";
import { z } from "zod";
import { authorizedAction } from "@/lib/auth/action";
import { verifyAuditChain } from "@/lib/services/audit";

const verify = authorizedAction("audit:read", z.object({}).strict(), (actor) => verifyAuditChain(actor));
/** Re-computes the hash chain over every audit event. */
export async function verifyAuditChainAction(prev: unknown, input: unknown) {
  return verify(prev, input ?? {});
}

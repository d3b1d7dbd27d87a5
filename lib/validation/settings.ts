// Settings forms: users (admin) and API tokens (admin). Shared by the server actions.
import { z } from "zod";
import { ROLES } from "../auth/roles";
import { blankToUndefined, ZId } from "./common";


/** People sign in to the dashboard; the broker role is for tokens only. */
export const USER_ROLES = ["admin", "operator", "viewer"] as const;

export const ZNewUserForm = z.object({
  email: z.string().trim().toLowerCase().email("Enter an email address").max(320),
  name: z.preprocess(blankToUndefined, z.string().trim().max(120).optional()),
  role: z.enum(USER_ROLES, { error: "Choose a role" }),
  /** Left empty: a password is generated and shown once. */
  password: z.preprocess(blankToUndefined, z.string().min(10, "At least 10 characters").max(1024).optional()),
});
export type TNewUserForm = z.infer<typeof ZNewUserForm>;

export const ZUpdateUser = z
  .object({
    id: ZId,
    role: z.enum(USER_ROLES).optional(),
    disabled: z.boolean().optional(),
  })
  .strict()
  .refine((v) => v.role !== undefined || v.disabled !== undefined, "Nothing to change");

export const ZNewTokenForm = z.object({
  name: z
    .string()
    .trim()
    .min(1, "Required")
    .max(64)
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "Letters, digits, '.', '_' and '-' only"),
  role: z.enum(ROLES, { error: "Choose a role" }),
  expiresInDays: z.preprocess(blankToUndefined, z.coerce.number({ error: "Enter a number of days" }).int().min(1, "At least 1 day").max(3650).optional()),
});

export const ZRevokeToken = z.object({ id: ZId }).strict();

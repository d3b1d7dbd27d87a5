// The one wrapper every server action goes through: authenticates the session, checks the
// permission, validates input with the shared zod schema, and turns errors into form state
// (for useActionState). A server action is a public endpoint: it never trusts the page that
// rendered the form.
import "server-only";
import type { z } from "zod";
import { AppError, type FieldError } from "../errors";
import { currentActor } from "./session";
import { authorize, type Actor, type Permission } from "./roles";
import { toAppError } from "../error-mapping";

export type ActionState<T = unknown> =
  | { ok: true; data: T; message?: string }
  | { ok: false; error: string; code: string; fieldErrors: Record<string, string> }
  | null;

/**
 * A server action as a client component receives it from its page: any target id already bound
 * there (`action.bind(null, id)`), so the component only sends its input. Components name the
 * input and result they use; the page's assignment checks that the real action fits.
 */
export type BoundAction<I, T> = (prev: unknown, input: I) => Promise<ActionState<T>>;

function fieldMap(errors: FieldError[]): Record<string, string> {
  return Object.fromEntries(errors.map((e) => [e.path, e.message]));
}

export function formToObject(form: FormData): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of form.entries()) {
    if (key.startsWith("$ACTION")) continue;
    if (key in out) out[key] = ([] as unknown[]).concat(out[key], value);
    else out[key] = value;
  }
  return out;
}

/**
 * The fields a client sent besides a bound id: a submitted form's, or a plain object's. Anything
 * else gives no fields, so the schema reports what is missing instead of the action throwing.
 */
export function inputFields(raw: unknown): Record<string, unknown> {
  if (raw instanceof FormData) return formToObject(raw);
  return raw && typeof raw === "object" && !Array.isArray(raw) ? { ...raw } : {};
}

/**
 * Defines a server action: `authorizedAction("devices:write", ZNewDevice, (actor, input) => …)`.
 * The returned function accepts (prevState, FormData | object), as useActionState calls it.
 */
export function authorizedAction<S extends z.ZodType, T>(
  permission: Permission,
  schema: S,
  handler: (actor: Actor, input: z.infer<S>) => Promise<T>,
) {
  return async (_prev: ActionState<T> | unknown, raw: FormData | unknown): Promise<ActionState<T>> => {
    try {
      const actor = await currentActor();
      if (!actor) throw new AppError("UNAUTHENTICATED", "Please sign in again");
      authorize(actor, permission);
      const parsed = schema.safeParse(raw instanceof FormData ? formToObject(raw) : raw);
      if (!parsed.success) {
        const errors = parsed.error.issues.map((i) => ({ path: i.path.join("."), message: i.message }));
        throw new AppError("VALIDATION", "Please correct the highlighted fields", errors);
      }
      return { ok: true, data: await handler(actor, parsed.data) };
    } catch (e) {
      const err = toAppError(e);
      return { ok: false, error: err.message, code: err.code, fieldErrors: fieldMap(err.fieldErrors) };
    }
  };
}

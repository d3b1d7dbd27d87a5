// Broker registry and topic policy schemas, shared by the REST routes, the server actions and the CLI.
import { z } from "zod";
import { topicFilterProblem } from "../broker/topics";

export const BROKER_REGISTRY_KINDS = ["rabbitmq", "emqx", "mosquitto"] as const;

const ZAdminUrl = z
  .string()
  .trim()
  .max(512)
  .url("An absolute http(s) URL")
  .refine((u) => /^https?:\/\//i.test(u), "An http(s) URL")
  .refine((u) => !new URL(u).username && !new URL(u).password, "Put the credentials in adminUsername / adminPassword, not in the URL");

export const ZNewBroker = z
  .object({
    name: z.string().trim().min(1, "Required").max(64).regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "Letters, digits, '.', '_' and '-'"),
    kind: z.enum(BROKER_REGISTRY_KINDS),
    /** RabbitMQ management API (e.g. http://127.0.0.1:15672) or EMQX REST API (e.g. http://127.0.0.1:18083) base URL. */
    adminUrl: ZAdminUrl.optional(),
    /** RabbitMQ: the management admin user CertFleet's auth backend answers for; EMQX: the API key. */
    adminUsername: z.string().trim().min(1).max(128).regex(/^[^\s:]+$/, "No spaces or ':'").optional(),
    /** RabbitMQ: that user's password; EMQX: the API secret. Stored sealed, never shown again. */
    adminPassword: z.string().min(8, "At least 8 characters").max(256).optional(),
  })
  .strict()
  .superRefine((v, ctx) => {
    if (v.kind === "mosquitto" && (v.adminUrl || v.adminUsername || v.adminPassword)) {
      ctx.addIssue({ code: "custom", path: ["adminUrl"], message: "Mosquitto has no API to close sessions: leave the admin fields empty" });
    }
    if (v.adminUrl && (!v.adminUsername || !v.adminPassword)) {
      ctx.addIssue({ code: "custom", path: ["adminUsername"], message: "An admin URL needs a user name and password" });
    }
    if (v.kind === "rabbitmq" && v.adminPassword && !v.adminUsername) {
      ctx.addIssue({ code: "custom", path: ["adminUsername"], message: "Required with a password" });
    }
  });
export type TNewBroker = z.infer<typeof ZNewBroker>;

export const ZBrokerUpdate = z
  .object({
    adminUrl: ZAdminUrl.nullable().optional(),
    adminUsername: z.string().trim().min(1).max(128).regex(/^[^\s:]+$/, "No spaces or ':'").nullable().optional(),
    adminPassword: z.string().min(8, "At least 8 characters").max(256).nullable().optional(),
    /** Issue a new auth-backend secret (the old URL stops working at once); answered once. */
    rotateSecret: z.boolean().optional(),
  })
  .strict();
export type TBrokerUpdate = z.infer<typeof ZBrokerUpdate>;

const ZTopicFilter = z
  .string()
  .trim()
  .superRefine((f, ctx) => {
    const problem = topicFilterProblem(f);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });

export const ZTopicPolicy = z
  .object({
    publish: z.array(ZTopicFilter).max(32),
    subscribe: z.array(ZTopicFilter).max(32),
  })
  .strict();
export type TTopicPolicy = z.infer<typeof ZTopicPolicy>;

export const ZTag = z.string().trim().toLowerCase().min(1).max(64);

// Forms send one filter a line.
const lines = (v: unknown) => (typeof v === "string" ? v.split(/\r?\n/).map((l) => l.trim()).filter(Boolean) : v);
export const ZTopicPolicyForm = z.object({
  publish: z.preprocess(lines, z.array(ZTopicFilter).max(32)),
  subscribe: z.preprocess(lines, z.array(ZTopicFilter).max(32)),
});

/** The registration form: empty fields mean "not given". */
export const ZNewBrokerForm = z.preprocess(
  (v) => (v && typeof v === "object" ? Object.fromEntries(Object.entries(v).filter(([, x]) => x !== "" && x !== null)) : v),
  ZNewBroker,
);

export const ZBrokerId = z.object({ id: z.string().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/, "Not a valid id") });
export const ZDeviceTopicPolicyForm = ZTopicPolicyForm.extend({ deviceId: z.string().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/, "Not a valid id") });

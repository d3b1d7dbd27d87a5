// MQTT topic policies as the broker auth backend checks them: a device may publish / subscribe to
// the topic filters of its policy, "{name}" standing for the device name. Pure; the service feeds it.
//
// Two spellings reach the backend:
// - RabbitMQ's MQTT plugin hands over AMQP routing keys: every "/" of the MQTT topic became ".",
//   "+" became "*" ("#" stays). A "." inside an MQTT topic level is therefore a level separator
//   too (devices/dev.1/t arrives as devices.dev.1.t, exactly like devices/dev/1/t): the policy is
//   split the same way before comparing.
// - EMQX hands over the MQTT topic as it is ("/" separates, "+" and "#" are wildcards).

export type TopicDialect = "amqp" | "mqtt";

/** The default policy: a device publishes and subscribes below its own name. */
export const DEFAULT_TOPIC_FILTERS = ["devices/{name}/#"];

const MAX_FILTER_LENGTH = 256;

/** Why a policy filter is not acceptable, or null. MQTT 3.1.1 section 4.7 rules plus our placeholder. */
export function topicFilterProblem(filter: string): string | null {
  if (!filter) return "a topic filter cannot be empty";
  if (filter.length > MAX_FILTER_LENGTH) return `a topic filter is at most ${MAX_FILTER_LENGTH} characters`;
  if ([...filter].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)) return "a topic filter cannot contain control characters";
  const rest = filter.replaceAll("{name}", "x");
  if (/[{}]/.test(rest)) return 'the only placeholder is "{name}"';
  const levels = rest.split("/");
  for (const [i, level] of levels.entries()) {
    if (level.includes("#") && (level !== "#" || i !== levels.length - 1)) return '"#" must be a whole level, and the last one';
    if (level.includes("+") && level !== "+") return '"+" must be a whole level';
    if (level.includes("*")) return '"*" is not allowed in MQTT topics (RabbitMQ reads it as a wildcard)';
  }
  return null;
}

function wordsOf(filter: string, name: string, dialect: TopicDialect): string[] {
  const expanded = filter.replaceAll("{name}", name);
  if (dialect === "mqtt") return expanded.split("/");
  return expanded.split(/[/.]/).map((w) => (w === "+" ? "*" : w));
}

/** Whether everything `asked` can match is inside what `policy` allows (both as words). */
function covers(policy: string[], asked: string[], single: string): boolean {
  for (let i = 0; i < policy.length; i++) {
    const p = policy[i];
    // "#" also matches the parent level (MQTT 4.7.1.2; AMQP "#" matches zero words).
    if (p === "#") return true;
    if (i >= asked.length) return false;
    const a = asked[i];
    if (a === "#") return false;
    if (p === single) continue;
    if (a === single || a !== p) return false;
  }
  return asked.length === policy.length;
}

/**
 * Whether a device named `name` with these policy filters may use `topic`: a concrete topic
 * (publish) or a subscription filter, in the broker's spelling.
 */
export function topicAllowed(filters: readonly string[], name: string, topic: string, dialect: TopicDialect): boolean {
  const single = dialect === "mqtt" ? "+" : "*";
  const asked = dialect === "mqtt" ? topic.split("/") : topic.split(".");
  return filters.some((f) => covers(wordsOf(f, name, dialect), asked, single));
}

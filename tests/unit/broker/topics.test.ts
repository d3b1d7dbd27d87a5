// Topic policy matching in both spellings the auth backend receives (RabbitMQ routing keys, EMQX topics).
import { describe, expect, it } from "vitest";
import { DEFAULT_TOPIC_FILTERS, topicAllowed, topicFilterProblem } from "@/lib/broker/topics";

describe("topicAllowed", () => {
  it("RabbitMQ routing keys: '/' arrived as '.', '+' as '*'", () => {
    const allow = (topic: string, filters = DEFAULT_TOPIC_FILTERS, name = "sensor-1") => topicAllowed(filters, name, topic, "amqp");
    expect(allow("devices.sensor-1.temp")).toBe(true);
    expect(allow("devices.sensor-1")).toBe(true); // "#" covers the parent level
    expect(allow("devices.sensor-1.a.b.c")).toBe(true);
    expect(allow("devices.sensor-2.temp")).toBe(false);
    expect(allow("devices.*.temp")).toBe(false); // subscribing to everyone's temperature
    expect(allow("devices.#")).toBe(false);
    expect(allow("devices.sensor-1.#")).toBe(true);
    expect(allow("devices.sensor-1.*")).toBe(true);
    // A "." in a device name is a level separator on RabbitMQ, on both sides.
    expect(allow("devices.dev.1.temp", DEFAULT_TOPIC_FILTERS, "dev.1")).toBe(true);
    expect(allow("devices.dev.2.temp", DEFAULT_TOPIC_FILTERS, "dev.1")).toBe(false);
    expect(allow("factory.line-3.sensor-1", ["factory/+/{name}"])).toBe(true);
    expect(allow("factory.*.sensor-1", ["factory/+/{name}"])).toBe(true);
    expect(allow("factory.line-3.sensor-2", ["factory/+/{name}"])).toBe(false);
    expect(allow("factory.line-3.sensor-1.x", ["factory/+/{name}"])).toBe(false);
    expect(allow("anything", [])).toBe(false);
  });

  it("EMQX topics: MQTT spelling", () => {
    const allow = (topic: string, filters = DEFAULT_TOPIC_FILTERS) => topicAllowed(filters, "dev.1", topic, "mqtt");
    expect(allow("devices/dev.1/temp")).toBe(true);
    expect(allow("devices/dev.1/#")).toBe(true);
    expect(allow("devices/+/temp")).toBe(false);
    expect(allow("devices/dev.2/temp")).toBe(false);
    expect(allow("devices/dev/1/temp")).toBe(false);
    expect(allow("cmd/dev.1", ["cmd/{name}"])).toBe(true);
    expect(allow("cmd/dev.1/x", ["cmd/{name}"])).toBe(false);
  });

  it("refuses malformed policy filters", () => {
    expect(topicFilterProblem("devices/{name}/#")).toBeNull();
    expect(topicFilterProblem("a/#/b")).toMatch(/last/);
    expect(topicFilterProblem("a/b+")).toMatch(/whole level/);
    expect(topicFilterProblem("a/*")).toMatch(/\*/);
    expect(topicFilterProblem("a/{id}")).toMatch(/placeholder/);
    expect(topicFilterProblem("")).toMatch(/empty/);
    expect(topicFilterProblem("a\u0000b")).toMatch(/control/);
  });
});

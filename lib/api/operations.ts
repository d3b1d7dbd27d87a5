// Every REST operation, declared once: the route handlers take their permission and schemas from
// here, and /api/v1/openapi.json is generated from the same objects (no hand-kept copy).
import { z } from "zod";
import type { Permission } from "../auth/roles";
import { ZDeviceQuery, ZDeviceUpdate, ZNewDevice } from "../validation/devices";
import { ZCertificateQuery, ZIssueCertificate, ZRenewCertificate, ZRevokeCertificate } from "../validation/certificates";
import { ZCreatePsk, ZPskFileQuery, ZRevealPsk } from "../validation/psk";
import { ZBootstrapCaInput, ZBootstrapCaStatus, ZBootstrapCrlInput, ZCaEstSettings, ZEnrollmentSecretInput } from "../validation/est";
import { ZDeliveryQuery, ZNotificationChannelInput, ZNotificationRuleInput, ZSetEnabled } from "../validation/notifications";
import { ZBrokerUpdate, ZNewBroker, ZTopicPolicy } from "../validation/brokers";

export interface Operation {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  path: string;
  summary: string;
  tag: "devices" | "certificates" | "cas" | "psk" | "broker" | "brokers" | "est" | "notifications" | "meta";
  /** "public" = no token needed. */
  permission: Permission | "public";
  body?: z.ZodType;
  query?: z.ZodType;
  /** Status of a successful answer. */
  success: number;
}

const op = <T extends Operation>(o: T) => o;

export const OPERATIONS = {
  listCas: op({ method: "GET", path: "/api/v1/cas", summary: "List certificate authorities", tag: "cas", permission: "cas:read", success: 200 }),
  listDevices: op({ method: "GET", path: "/api/v1/devices", summary: "List devices (keyset pagination, filters)", tag: "devices", permission: "devices:read", query: ZDeviceQuery, success: 200 }),
  createDevice: op({ method: "POST", path: "/api/v1/devices", summary: "Create a device", tag: "devices", permission: "devices:write", body: ZNewDevice, success: 201 }),
  getDevice: op({ method: "GET", path: "/api/v1/devices/{id}", summary: "Get a device", tag: "devices", permission: "devices:read", success: 200 }),
  updateDevice: op({ method: "PATCH", path: "/api/v1/devices/{id}", summary: "Update a device (tags, metadata, external id, enable/disable)", tag: "devices", permission: "devices:write", body: ZDeviceUpdate, success: 200 }),
  decommissionDevice: op({ method: "DELETE", path: "/api/v1/devices/{id}", summary: "Decommission a device: revokes its certificates (cessationOfOperation) and PSKs", tag: "devices", permission: "devices:write", success: 200 }),
  issueCertificate: op({
    method: "POST",
    path: "/api/v1/devices/{id}/certificates",
    summary: "Issue a device certificate from a CSR, or with a server-generated key (returned once, as PEM or PKCS#12)",
    tag: "certificates",
    permission: "certificates:write",
    body: ZIssueCertificate,
    success: 201,
  }),
  listCertificates: op({ method: "GET", path: "/api/v1/certificates", summary: "List certificates (by device, serial, status, expiry)", tag: "certificates", permission: "certificates:read", query: ZCertificateQuery, success: 200 }),
  getCertificate: op({ method: "GET", path: "/api/v1/certificates/{id}", summary: "Get a certificate with its PEM", tag: "certificates", permission: "certificates:read", success: 200 }),
  renewCertificate: op({ method: "POST", path: "/api/v1/certificates/{id}/renew", summary: "Renew: new serial and validity; the old certificate is superseded (optionally revoked)", tag: "certificates", permission: "certificates:write", body: ZRenewCertificate, success: 201 }),
  revokeCertificate: op({ method: "POST", path: "/api/v1/certificates/{id}/revoke", summary: "Revoke with an RFC 5280 reason", tag: "certificates", permission: "certificates:write", body: ZRevokeCertificate, success: 200 }),
  unholdCertificate: op({ method: "POST", path: "/api/v1/certificates/{id}/unhold", summary: "Release a certificateHold", tag: "certificates", permission: "certificates:write", success: 200 }),
  openapi: op({ method: "GET", path: "/api/v1/openapi.json", summary: "This document", tag: "meta", permission: "public", success: 200 }),
  listPsks: op({ method: "GET", path: "/api/v1/devices/{id}/psk", summary: "List the device's PSKs (identities, versions, status; never keys)", tag: "psk", permission: "psk:read", success: 200 }),
  createOrRotatePsk: op({
    method: "POST",
    path: "/api/v1/devices/{id}/psk",
    summary: "Create the device's PSK, or rotate it (overlapSeconds > 0: new identity version, old key valid until the window ends). Answers identity, key and keyHex once",
    tag: "psk",
    permission: "psk:write",
    body: ZCreatePsk,
    success: 201,
  }),
  revokePsk: op({ method: "DELETE", path: "/api/v1/devices/{id}/psk", summary: "Revoke every live PSK of the device (gone from the broker exports at once)", tag: "psk", permission: "psk:write", success: 200 }),
  revealPsk: op({ method: "POST", path: "/api/v1/devices/{id}/psk/reveal", summary: "Show a live PSK's key again (admin only, audited)", tag: "psk", permission: "psk:reveal", body: ZRevealPsk, success: 200 }),
  brokerPskFile: op({
    method: "GET",
    path: "/api/v1/broker/psk-file",
    summary: "PSK file in the broker's encoding (text/plain; ETag / If-None-Match). mosquitto: identity:hex(ASCII(key)); emqx: identity:key plus tombstones for recently revoked identities",
    tag: "broker",
    permission: "broker:read",
    query: ZPskFileQuery,
    success: 200,
  }),
  createEnrollmentSecret: op({
    method: "POST",
    path: "/api/v1/devices/{id}/enrollment",
    summary: "Create a one-time EST enrollment secret for the device: answers { username, password, expiresAt, estUrl } once (body {} or { validDays })",
    tag: "est",
    permission: "certificates:write",
    body: ZEnrollmentSecretInput,
    success: 201,
  }),
  getDeviceEnrollment: op({ method: "GET", path: "/api/v1/devices/{id}/enrollment", summary: "How the device enrolls over EST: last enrollment and a pending secret (never the secret)", tag: "est", permission: "devices:read", success: 200 }),
  listBootstrapCas: op({ method: "GET", path: "/api/v1/bootstrap-cas", summary: "List the bootstrap (manufacturer) CAs whose certificates may enroll over EST", tag: "est", permission: "cas:read", success: 200 }),
  registerBootstrapCa: op({
    method: "POST",
    path: "/api/v1/bootstrap-cas",
    summary: "Register a bootstrap CA (PEM), how its certificates find their device (cn-as-name | cn-as-external-id | serial) and whether an unknown device is created, with tags",
    tag: "est",
    permission: "cas:write",
    body: ZBootstrapCaInput,
    success: 201,
  }),
  deleteBootstrapCa: op({ method: "DELETE", path: "/api/v1/bootstrap-cas/{id}", summary: "Remove a bootstrap CA: its certificates no longer enroll (devices it created stay)", tag: "est", permission: "cas:write", success: 200 }),
  attachBootstrapCrl: op({
    method: "POST",
    path: "/api/v1/bootstrap-cas/{id}/crl",
    summary: "Attach (or replace) the bootstrap CA's CRL, PEM or base64 DER: checked against the CA's signature, must carry a nextUpdate; listed certificates are refused, and all of the CA's once the CRL is stale",
    tag: "est",
    permission: "cas:write",
    body: ZBootstrapCrlInput,
    success: 200,
  }),
  setBootstrapCaStatus: op({ method: "PATCH", path: "/api/v1/bootstrap-cas/{id}", summary: "Enable or disable a bootstrap CA", tag: "est", permission: "cas:write", body: ZBootstrapCaStatus, success: 200 }),
  updateCaEstSettings: op({
    method: "PATCH",
    path: "/api/v1/cas/{id}/est",
    summary: "EST re-enrollment settings of an issuing CA: grace after expiry (days, 0 = none) and whether the old certificate is revoked as superseded",
    tag: "est",
    permission: "cas:write",
    body: ZCaEstSettings,
    success: 200,
  }),
  metrics: op({
    method: "GET",
    path: "/metrics",
    summary: "Prometheus metrics in the text exposition format (text/plain; version=0.0.4), for tokens of role metrics, broker or admin. See README \"Metrics\"",
    tag: "meta",
    permission: "metrics:read",
    success: 200,
  }),
  listNotificationChannels: op({ method: "GET", path: "/api/v1/notification-channels", summary: "List notification channels (never their secrets)", tag: "notifications", permission: "notifications:manage", success: 200 }),
  createNotificationChannel: op({
    method: "POST",
    path: "/api/v1/notification-channels",
    summary:
      "Create a webhook channel ({ kind: webhook, name, url, secret? }: answers the HMAC signing secret once) or an email channel ({ kind: email, name, host, port, security: tls|starttls|none, username?, password?, from, to[] }). Webhook requests: see the NotificationEvent webhook",
    tag: "notifications",
    permission: "notifications:manage",
    body: ZNotificationChannelInput,
    success: 201,
  }),
  updateNotificationChannel: op({ method: "PATCH", path: "/api/v1/notification-channels/{id}", summary: "Enable or disable a channel", tag: "notifications", permission: "notifications:manage", body: ZSetEnabled, success: 200 }),
  deleteNotificationChannel: op({ method: "DELETE", path: "/api/v1/notification-channels/{id}", summary: "Delete a channel that no rule uses (with its delivery log)", tag: "notifications", permission: "notifications:manage", success: 200 }),
  testNotificationChannel: op({ method: "POST", path: "/api/v1/notification-channels/{id}/test", summary: "Send a test event (type test) through the channel; answers { ok, attempts, statusCode?, error? }", tag: "notifications", permission: "notifications:manage", success: 200 }),
  listNotificationRules: op({ method: "GET", path: "/api/v1/notification-rules", summary: "List alert rules", tag: "notifications", permission: "notifications:manage", success: 200 }),
  createNotificationRule: op({
    method: "POST",
    path: "/api/v1/notification-rules",
    summary:
      "Create an alert rule: kind certificate-expiry (thresholds in days, default [30,7,1]; tag / caId filters), certificate-expired, signer-expiry (CA certificates by thresholds, OCSP responder not renewed, CRL not re-signed), revocation, est-refusals (spikeCount within windowMinutes); digest: one message a day instead of one per match",
    tag: "notifications",
    permission: "notifications:manage",
    body: ZNotificationRuleInput,
    success: 201,
  }),
  updateNotificationRule: op({ method: "PATCH", path: "/api/v1/notification-rules/{id}", summary: "Enable or disable a rule", tag: "notifications", permission: "notifications:manage", body: ZSetEnabled, success: 200 }),
  deleteNotificationRule: op({ method: "DELETE", path: "/api/v1/notification-rules/{id}", summary: "Delete a rule (and its record of fired alerts)", tag: "notifications", permission: "notifications:manage", success: 200 }),
  listNotificationDeliveries: op({
    method: "GET",
    path: "/api/v1/notification-deliveries",
    summary: "The delivery log: every attempt with outcome, HTTP or SMTP status, duration and error, newest first",
    tag: "notifications",
    permission: "notifications:manage",
    query: ZDeliveryQuery,
    success: 200,
  }),
  listBrokers: op({ method: "GET", path: "/api/v1/brokers", summary: "List registered brokers with their health (last sync, last auth-backend call, last session close, last error)", tag: "brokers", permission: "brokers:read", success: 200 }),
  createBroker: op({
    method: "POST",
    path: "/api/v1/brokers",
    summary: "Register a broker (rabbitmq | emqx | mosquitto) with its admin API URL and credentials (sealed). Answers authUrl, the auth-backend URL with the broker's secret, once",
    tag: "brokers",
    permission: "brokers:manage",
    body: ZNewBroker,
    success: 201,
  }),
  getBroker: op({ method: "GET", path: "/api/v1/brokers/{id}", summary: "Get a broker and its health", tag: "brokers", permission: "brokers:read", success: 200 }),
  updateBroker: op({ method: "PATCH", path: "/api/v1/brokers/{id}", summary: "Change a broker's admin URL or credentials, or rotate its auth-backend secret (answers the new authUrl once)", tag: "brokers", permission: "brokers:manage", body: ZBrokerUpdate, success: 200 }),
  deleteBroker: op({ method: "DELETE", path: "/api/v1/brokers/{id}", summary: "Remove a broker: its auth-backend URL stops answering", tag: "brokers", permission: "brokers:manage", success: 200 }),
  getDeviceTopicPolicy: op({ method: "GET", path: "/api/v1/devices/{id}/topic-policy", summary: "The MQTT topics the device may publish / subscribe to (its own policy, its tags', or the default devices/{name}/#)", tag: "brokers", permission: "devices:read", success: 200 }),
  setDeviceTopicPolicy: op({ method: "PUT", path: "/api/v1/devices/{id}/topic-policy", summary: "Set the device's own topic policy (MQTT filters; {name} = the device name)", tag: "brokers", permission: "devices:write", body: ZTopicPolicy, success: 200 }),
  deleteDeviceTopicPolicy: op({ method: "DELETE", path: "/api/v1/devices/{id}/topic-policy", summary: "Remove the device's own policy (back to its tags' or the default)", tag: "brokers", permission: "devices:write", success: 200 }),
  getTagTopicPolicy: op({ method: "GET", path: "/api/v1/tags/{id}/topic-policy", summary: "A tag's topic policy (devices with that tag and no policy of their own)", tag: "brokers", permission: "devices:read", success: 200 }),
  setTagTopicPolicy: op({ method: "PUT", path: "/api/v1/tags/{id}/topic-policy", summary: "Set a tag's topic policy", tag: "brokers", permission: "devices:write", body: ZTopicPolicy, success: 200 }),
  deleteTagTopicPolicy: op({ method: "DELETE", path: "/api/v1/tags/{id}/topic-policy", summary: "Remove a tag's topic policy", tag: "brokers", permission: "devices:write", success: 200 }),
} satisfies Record<string, Operation>;

export type OperationId = keyof typeof OPERATIONS;

import Link from "next/link";
import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { ChevronDown, ChevronRight, FileBadge, ScrollText } from "lucide-react";
import { can } from "@/lib/auth/roles";
import { AppError } from "@/lib/errors";
import { config } from "@/lib/config";
import { getDevice } from "@/lib/services/devices";
import { certStateOf, listDeviceCertificates } from "@/lib/services/inventory";
import { listDevicePsks } from "@/lib/services/psk";
import { listAuditEvents } from "@/lib/services/audit";
import { findIssuingCa, listCas } from "@/lib/services/cas";
import { getDeviceEnrollment } from "@/lib/services/est";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { CopyButton } from "@/components/ui/copy-button";
import { EmptyState } from "@/components/ui/empty-state";
import { formatDateTime, formatHex } from "@/components/ui/format";
import { CertStateBadge, DeviceStatusBadge } from "@/components/certificates/cert-state-badge";
import { ValidityBar } from "@/components/certificates/validity-bar";
import { CertificateActions } from "@/components/certificates/certificate-actions";
import { CertificateHistory } from "@/components/certificates/certificate-history";
import { IssueCertificateForm } from "@/components/certificates/issue-certificate-form";
import { DeviceActions } from "@/components/devices/device-actions";
import { PskPanel } from "@/components/psks/psk-panel";
import { EnrollmentPanel } from "@/components/est/enrollment-panel";
import { opensslSubject, type EstTarget } from "@/components/est/est-commands";
import { AuditList } from "@/components/audit/audit-list";
import { listBrokers } from "@/lib/services/brokers";
import { getTopicPolicy } from "@/lib/services/topic-policies";
import { TopicPolicyForm } from "@/components/brokers/topic-policy-form";
import { LiveSessionsNote } from "@/components/brokers/live-sessions-note";
import { requireActor } from "../../require-actor";
import { resetTopicPolicyAction, saveTopicPolicyAction } from "../../brokers/actions";
import { decommissionDeviceAction, updateDeviceAction } from "../actions";
import { issueCertificateFormAction, renewCertificateAction, revokeCertificateAction, unholdCertificateAction } from "../certificate-actions";
import { createOrRotatePskAction, revealPskAction, revokePskAction } from "../psk-actions";
import { createEnrollmentSecretAction } from "../enrollment-actions";

export async function generateMetadata({ params }: { params: Promise<{ id: string }> }): Promise<Metadata> {
  const actor = await requireActor();
  const { id } = await params;
  const device = await getDevice(actor, id).catch(() => null);
  return { title: device?.name ?? "Device" };
}

async function loadDevice(id: string) {
  const actor = await requireActor();
  try {
    return { actor, device: await getDevice(actor, id) };
  } catch (e) {
    if (e instanceof AppError && e.code === "NOT_FOUND") notFound();
    throw e;
  }
}

function Field({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <>
      <dt className="text-zinc-500">{label}</dt>
      <dd className="min-w-0 text-zinc-900">{children}</dd>
    </>
  );
}

/** Where the device enrolls: its current certificate's CA while that one issues, else the default issuing CA. */
function estTargetFor(cas: Awaited<ReturnType<typeof listCas>>, currentCaId: string | undefined, defaultCaId: string | undefined): EstTarget | null {
  const issuing = (id?: string) => cas.find((c) => c.id === id && c.kind === "issuing" && c.status === "active");
  const ca = issuing(currentCaId) ?? issuing(defaultCaId);
  if (!ca) return null;
  const root = cas.find((c) => c.id === ca.parentId) ?? ca;
  const { publicUrl, estUrl } = config();
  return {
    origin: new URL(estUrl).origin,
    url: `${estUrl}/${ca.slug}/`,
    label: ca.slug,
    isDefault: ca.id === defaultCaId,
    chainUrl: `${publicUrl}/pki/ca/${ca.slug}/chain.pem`,
    issuingPemUrl: `${publicUrl}/pki/ca/${ca.slug}.pem`,
    rootPemUrl: `${publicUrl}/pki/ca/${root.slug}.pem`,
  };
}

export default async function DevicePage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const { actor, device } = await loadDevice(id);
  const [certificates, psks, events, cas, enrollment, defaultCa, topicPolicy, brokers] = await Promise.all([
    listDeviceCertificates(actor, id),
    can(actor.role, "psk:read") ? listDevicePsks(actor, id) : Promise.resolve([]),
    can(actor.role, "audit:read") ? listAuditEvents(actor, { targetType: "device", targetId: id, limit: 30 }) : Promise.resolve([]),
    listCas(actor),
    getDeviceEnrollment(actor, id),
    findIssuingCa().catch(() => null),
    getTopicPolicy(actor, "device", id),
    listBrokers(actor),
  ]);
  const now = new Date();
  const current = certificates.find((c) => c.id === device.currentCertificateId) ?? null;
  const state = certStateOf({ status: device.status, certNotAfter: device.certNotAfter, currentCertId: device.currentCertificateId }, now);
  const onHold = current?.status === "revoked" && current.revocationReason === "certificateHold";
  const canCertWrite = can(actor.role, "certificates:write");
  const caName = (caId: string) => cas.find((c) => c.id === caId)?.name ?? caId;
  const liveCertificates = certificates.filter((c) => c.status !== "revoked").length;
  const metadata = Object.entries(device.metadata);
  const estTarget = estTargetFor(cas, current?.caId, defaultCa?.id);

  return (
    <>
      <nav aria-label="Breadcrumb" className="mb-2 flex items-center gap-1 text-xs text-zinc-500">
        <Link href="/devices" className="hover:text-zinc-900">Devices</Link>
        <ChevronRight className="size-3" aria-hidden="true" />
        <span aria-current="page" className="text-zinc-700">{device.name}</span>
      </nav>
      <div className="mb-6 flex flex-wrap items-start justify-between gap-4">
        <div className="min-w-0">
          <h1 className="flex flex-wrap items-center gap-2 text-xl font-semibold tracking-tight text-zinc-900">
            <span className="truncate" data-testid="device-name">{device.name}</span>
            <DeviceStatusBadge status={device.status} />
            <span data-testid="device-cert-state"><CertStateBadge state={onHold ? "hold" : state} /></span>
          </h1>
          <p className="mt-1 text-sm text-zinc-500">
            {device.externalId ? <>External id <span className="font-mono text-zinc-700">{device.externalId}</span> · </> : null}
            created {formatDateTime(device.createdAt)}
          </p>
        </div>
        {can(actor.role, "devices:write") && (
          <div className="flex flex-wrap gap-2">
            <DeviceActions actions={{ update: updateDeviceAction.bind(null, device.id), decommission: decommissionDeviceAction.bind(null, device.id) }} name={device.name} status={device.status} liveCertificates={liveCertificates} hasPsk={device.hasPsk} />
          </div>
        )}
      </div>

      <div className="grid gap-4 xl:grid-cols-3">
        <div className="min-w-0 space-y-4 xl:col-span-2">
          <Card aria-labelledby="current-cert">
            <CardHeader
              id="current-cert"
              title="Current certificate"
              description={current ? `Issued by ${caName(current.caId)}` : undefined}
              actions={current && <CertStateBadge state={onHold ? "hold" : current.status === "active" && state === "expiring" ? "expiring" : current.status} />}
            />
            {current ? (
              <CardBody className="space-y-4">
                <ValidityBar notBefore={current.notBefore} notAfter={current.notAfter} now={now} revoked={current.status === "revoked"} />
                <dl className="grid grid-cols-[8rem_1fr] gap-x-4 gap-y-2 text-sm">
                  <Field label="Subject"><span className="font-mono text-xs break-all">{current.subject}</span></Field>
                  <Field label="Serial">
                    <span className="inline-flex items-center gap-1.5">
                      <span className="font-mono text-xs break-all" data-testid="current-serial">{current.serialHex}</span>
                      <CopyButton value={current.serialHex} label="Copy serial" />
                    </span>
                  </Field>
                  <Field label="SHA-256">
                    <span className="inline-flex items-start gap-1.5">
                      <span className="font-mono text-[11px] break-all text-zinc-700">{formatHex(current.fingerprint)}</span>
                      <CopyButton value={current.fingerprint} label="Copy fingerprint" />
                    </span>
                  </Field>
                  <Field label="Expires"><span data-testid="current-not-after" data-iso={current.notAfter.toISOString()}>{formatDateTime(current.notAfter)}</span></Field>
                  <Field label="Key">{current.keyAlgorithm} · {current.keySource === "generated" ? "generated by CertFleet (private key never stored)" : "device's own key (CSR)"}</Field>
                  {current.revokedAt && <Field label="Revoked">{formatDateTime(current.revokedAt)} · {current.revocationReason}</Field>}
                </dl>
                {canCertWrite && device.status !== "decommissioned" && (
                  <CertificateActions
                    actions={{ renew: renewCertificateAction.bind(null, current.id), revoke: revokeCertificateAction.bind(null, current.id), unhold: unholdCertificateAction.bind(null, current.id) }}
                    serialHex={current.serialHex} deviceName={device.name} keySource={current.keySource} status={current.status} onHold={onHold} deviceActive={device.status === "active"} />
                )}
                {canCertWrite && device.status !== "active" && device.status !== "decommissioned" && (
                  <p className="text-xs text-amber-700">The device is {device.status}: enable it to renew or issue certificates.</p>
                )}
              </CardBody>
            ) : (
              <EmptyState icon={<FileBadge />} title="No certificate yet" description={canCertWrite && device.status === "active" ? "Issue one below from the device's CSR, or let CertFleet generate the key." : "This device has never had a certificate."} />
            )}
          </Card>

          {canCertWrite && device.status === "active" && (
            <Card aria-labelledby="issue-cert">
              {/* Folded away while the device has a working certificate: Renew is the usual path. */}
              <details open={!current || state === "revoked" || state === "expired"} className="group">
                <summary className="flex cursor-pointer list-none items-center justify-between gap-3 px-4 py-3 [&::-webkit-details-marker]:hidden">
                  <div>
                    <h2 id="issue-cert" className="text-sm font-semibold text-zinc-900">{current ? "Issue a new certificate" : "Issue a certificate"}</h2>
                    <p className="mt-0.5 text-xs text-zinc-500">From the device&apos;s CSR, or with a key generated here. The new certificate becomes the current one.</p>
                  </div>
                  <ChevronDown className="size-4 shrink-0 text-zinc-400 transition-transform group-open:rotate-180" aria-hidden="true" />
                </summary>
                <CardBody className="border-t border-zinc-100">
                  <IssueCertificateForm issue={issueCertificateFormAction.bind(null, device.id)} deviceName={device.name} defaultValidityDays={config().deviceCertDays} />
                </CardBody>
              </details>
            </Card>
          )}

          <Card aria-labelledby="history">
            <CardHeader id="history" title="Certificate history" description={`${certificates.length} certificate${certificates.length === 1 ? "" : "s"}`} />
            {certificates.length ? <CertificateHistory certificates={certificates} currentId={device.currentCertificateId} /> : <EmptyState title="No certificates" />}
          </Card>
        </div>

        <div className="min-w-0 space-y-4">
          <Card aria-labelledby="details">
            <CardHeader id="details" title="Details" />
            <CardBody>
              <dl className="grid grid-cols-[7rem_1fr] gap-x-3 gap-y-2 text-sm">
                <Field label="Id"><span className="font-mono text-xs">{device.id}</span></Field>
                <Field label="External id">{device.externalId ?? <span className="text-zinc-500">—</span>}</Field>
                <Field label="Tags">
                  {device.tags.length ? (
                    <span className="flex flex-wrap gap-1">
                      {device.tags.map((t) => (
                        <Link key={t} href={`/devices?tag=${encodeURIComponent(t)}`} className="rounded bg-zinc-100 px-1.5 py-0.5 text-xs text-zinc-700 hover:bg-zinc-200">{t}</Link>
                      ))}
                    </span>
                  ) : (
                    <span className="text-zinc-500">—</span>
                  )}
                </Field>
                {metadata.map(([k, v]) => (
                  <Field key={k} label={k}><span className="break-all">{String(v)}</span></Field>
                ))}
                <Field label="Updated">{formatDateTime(device.updatedAt)}</Field>
              </dl>
            </CardBody>
          </Card>

          {estTarget && (
            <Card aria-labelledby="est">
              <CardHeader id="est" title="Enrollment (EST)" description="How the device gets and renews its certificate by itself (RFC 7030)." />
              <CardBody>
                <EnrollmentPanel
                  state={enrollment}
                  target={estTarget}
                  deviceName={device.name}
                  reenrollSubject={current && current.status === "active" ? opensslSubject(current.subject) : null}
                  canWrite={canCertWrite}
                  deviceActive={device.status === "active"}
                  createSecret={createEnrollmentSecretAction.bind(null, device.id)}
                />
              </CardBody>
            </Card>
          )}

          {can(actor.role, "psk:read") && (
            <Card aria-labelledby="psk">
              <CardHeader id="psk" title="Pre-shared key" description="For the broker's TLS-PSK listener." />
              <CardBody>
                <PskPanel
                  actions={{ createOrRotate: createOrRotatePskAction.bind(null, device.id), revoke: revokePskAction.bind(null, device.id), reveal: revealPskAction.bind(null, device.id) }}
                  deviceName={device.name}
                  psks={psks}
                  canWrite={can(actor.role, "psk:write") && device.status !== "decommissioned"}
                  canReveal={can(actor.role, "psk:reveal")}
                  deviceActive={device.status === "active"}
                  nowMs={now.getTime()}
                />
              </CardBody>
            </Card>
          )}

          <Card aria-labelledby="mqtt">
            <CardHeader id="mqtt" title="MQTT access" description="Topics the broker auth backend allows, and what happens to open connections." />
            <CardBody className="space-y-4">
              <TopicPolicyForm
                policy={topicPolicy}
                save={saveTopicPolicyAction.bind(null, device.id)}
                reset={resetTopicPolicyAction.bind(null, device.id)}
                canWrite={can(actor.role, "devices:write") && device.status !== "decommissioned"}
              />
              <LiveSessionsNote
                closingBrokers={brokers.filter((b) => b.canCloseSessions).map((b) => b.name)}
                mosquittoBrokers={brokers.filter((b) => b.kind === "mosquitto").map((b) => b.name)}
              />
            </CardBody>
          </Card>

          {can(actor.role, "audit:read") && (
            <Card aria-labelledby="activity">
              <CardHeader id="activity" title="Activity" actions={<Link href={`/audit?targetType=device&targetId=${device.id}`} className="text-xs text-zinc-500 hover:text-zinc-900">All events</Link>} />
              {events.length ? <AuditList events={events} now={now} showTarget={false} /> : <EmptyState icon={<ScrollText />} title="No events" />}
            </Card>
          )}
        </div>
      </div>
    </>
  );
}

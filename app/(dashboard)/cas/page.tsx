import type { Metadata } from "next";
import { Download, ShieldCheck } from "lucide-react";
import { config } from "@/lib/config";
import { listCas, type CaView } from "@/lib/services/cas";
import { getCrlStates } from "@/lib/services/crl";
import { getOcspResponderStates } from "@/lib/services/ocsp";
import { generateBrokerConfig, BROKER_KINDS, type BrokerKind, type RabbitCrlMode } from "@/lib/broker/config";
import { PageHeader } from "@/components/ui/page-header";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { Badge } from "@/components/ui/badge";
import { CopyButton } from "@/components/ui/copy-button";
import { EmptyState } from "@/components/ui/empty-state";
import { buttonClasses } from "@/components/ui/button";
import { formatBytes, formatDateTime, formatHex, formatNumber, relativeTime } from "@/components/ui/format";
import { ValidityBar } from "@/components/certificates/validity-bar";
import { crlFreshness } from "@/components/overview/crl-freshness";
import { BrokerSnippets } from "@/components/cas/broker-snippets";
import { UrlRow } from "@/components/cas/url-row";
import { TokenCaDialog } from "@/components/cas/token-ca-dialog";
import { can } from "@/lib/auth/roles";
import { requireActor } from "../require-actor";
import { listBootstrapCas } from "@/lib/services/est";
import { BootstrapCas } from "@/components/est/bootstrap-cas";
import { CaEstSettings } from "@/components/est/ca-est-settings";
import { attachBootstrapCrlAction, caEstSettingsAction, deleteBootstrapCaAction, registerBootstrapCaAction, tokenCaAction } from "./actions";

export const metadata: Metadata = { title: "Certificate authorities" };

type CrlState = Awaited<ReturnType<typeof getCrlStates>>[number];
type Responder = Awaited<ReturnType<typeof getOcspResponderStates>>[number];

function CaCard({ ca, crl, responders, now, depth, canWrite }: { ca: CaView; crl?: CrlState; responders: Responder[]; now: Date; depth: number; canWrite: boolean }) {
  const base = `/pki/ca/${ca.slug}`;
  const fresh = crl ? crlFreshness(crl, now) : null;
  const activeResponder = responders.find((r) => r.status === "active");
  return (
    <Card aria-labelledby={`ca-${ca.slug}`} className={depth ? "ml-4 sm:ml-8" : undefined} data-testid={`ca-${ca.slug}`}>
      <CardHeader
        id={`ca-${ca.slug}`}
        title={
          <span className="flex items-center gap-2">
            {depth > 0 && <span aria-hidden="true" className="text-zinc-300">└</span>}
            {ca.name}
            <Badge tone={ca.kind === "root" ? "violet" : "blue"}>{ca.kind === "root" ? "Root CA" : "Issuing CA"}</Badge>
            {ca.status !== "active" && <Badge>{ca.status}</Badge>}
          </span>
        }
        description={<span className="font-mono">{ca.subject}</span>}
        actions={
          <>
            <a href={`${base}.cer`} download={`${ca.slug}.cer`} className={buttonClasses("secondary", "xs")}><Download aria-hidden="true" /> DER</a>
            <a href={`${base}.pem`} download={`${ca.slug}.pem`} className={buttonClasses("secondary", "xs")}><Download aria-hidden="true" /> PEM</a>
            <a href={`${base}/chain.pem`} download={`${ca.slug}-chain.pem`} className={buttonClasses("secondary", "xs")}><Download aria-hidden="true" /> Chain</a>
          </>
        }
      />
      <CardBody className="grid gap-6 lg:grid-cols-2">
        <div className="space-y-4">
          <ValidityBar notBefore={ca.notBefore} notAfter={ca.notAfter} now={now} />
          <dl className="grid grid-cols-[7rem_1fr] gap-x-3 gap-y-1.5 text-sm">
            <dt className="text-zinc-500">Slug</dt>
            <dd className="font-mono text-xs">{ca.slug}</dd>
            <dt className="text-zinc-500">Key</dt>
            <dd>{ca.keyAlgorithm}</dd>
            <dt className="text-zinc-500">Serial</dt>
            <dd className="font-mono text-xs break-all">{ca.serialHex}</dd>
            <dt className="text-zinc-500">SHA-256</dt>
            <dd className="flex items-start gap-1.5">
              <span className="font-mono text-[11px] break-all text-zinc-700">{formatHex(ca.fingerprint)}</span>
              <CopyButton value={ca.fingerprint} label="Copy fingerprint" />
            </dd>
            <dt className="text-zinc-500">Valid</dt>
            <dd className="text-xs">{formatDateTime(ca.notBefore)} → {formatDateTime(ca.notAfter)}</dd>
          </dl>
        </div>
        {ca.urls ? (
          <div className="space-y-4">
            <div>
              <h3 className="mb-1.5 text-xs font-semibold tracking-wide text-zinc-500 uppercase">Written into certificates</h3>
              <dl className="grid grid-cols-[6rem_1fr] gap-x-3 gap-y-1.5 text-sm">
                <UrlRow label="CRL" url={ca.urls.crl} />
                <UrlRow label="CRL (PEM)" url={ca.urls.crl.replace(/\.crl$/, ".pem")} />
                <UrlRow label="OCSP" url={ca.urls.ocsp} />
                <UrlRow label="CA issuers" url={ca.urls.caIssuers} />
              </dl>
            </div>
            <div>
              <h3 className="mb-1.5 flex items-center gap-2 text-xs font-semibold tracking-wide text-zinc-500 uppercase">
                CRL {fresh && <Badge tone={fresh.tone} dot>{fresh.label}</Badge>}
              </h3>
              {crl ? (
                <dl className="grid grid-cols-[6rem_1fr] gap-x-3 gap-y-1 text-sm" data-testid={`crl-state-${ca.slug}`}>
                  <dt className="text-zinc-500">Number</dt>
                  <dd className="font-mono text-xs">{crl.number}</dd>
                  <dt className="text-zinc-500">This update</dt>
                  <dd className="text-xs">{formatDateTime(crl.thisUpdate)} <span className="text-zinc-500">({relativeTime(crl.thisUpdate, now)})</span></dd>
                  <dt className="text-zinc-500">Next update</dt>
                  <dd className="text-xs">{formatDateTime(crl.nextUpdate)} <span className="text-zinc-500">({relativeTime(crl.nextUpdate, now)})</span></dd>
                  <dt className="text-zinc-500">Entries</dt>
                  <dd className="text-xs">{formatNumber(crl.entryCount)} revoked · {formatBytes(crl.sizeBytes)}</dd>
                </dl>
              ) : (
                <p className="text-sm text-zinc-500">Not signed yet.</p>
              )}
            </div>
            <div>
              <h3 className="mb-1.5 text-xs font-semibold tracking-wide text-zinc-500 uppercase">OCSP responder</h3>
              {activeResponder ? (
                <dl className="grid grid-cols-[6rem_1fr] gap-x-3 gap-y-1 text-sm">
                  <dt className="text-zinc-500">Certificate</dt>
                  <dd className="font-mono text-xs break-all">{activeResponder.serialHex}</dd>
                  <dt className="text-zinc-500">Valid until</dt>
                  <dd className="text-xs">
                    {formatDateTime(activeResponder.notAfter)} <span className="text-zinc-500">({relativeTime(activeResponder.notAfter, now)})</span>
                  </dd>
                  {responders.length > 1 && (
                    <>
                      <dt className="text-zinc-500">Earlier</dt>
                      <dd className="text-xs text-zinc-600">{responders.length - 1} retired responder certificate{responders.length > 2 ? "s" : ""}</dd>
                    </>
                  )}
                </dl>
              ) : (
                <p className="text-sm text-zinc-500">No active responder certificate yet (created at server start).</p>
              )}
            </div>
          </div>
        ) : (
          <div className="text-sm text-zinc-600">
            <p>The root signs the issuing CAs only; it is the trust anchor brokers and devices install.</p>
            <p className="mt-2 text-xs text-zinc-500">Bundle of every CA certificate: <a href="/pki/chain.pem" className="font-mono hover:underline">/pki/chain.pem</a></p>
          </div>
        )}
      </CardBody>
      {ca.est && (
        <CardBody className="border-t border-zinc-100">
          <h3 className="mb-2 text-xs font-semibold tracking-wide text-zinc-500 uppercase">EST re-enrollment</h3>
          <CaEstSettings slug={ca.slug} settings={ca.est} submit={caEstSettingsAction.bind(null, ca.id)} canWrite={canWrite} />
        </CardBody>
      )}
    </Card>
  );
}

export default async function CasPage() {
  const actor = await requireActor();
  const canWrite = can(actor.role, "cas:write");
  const [cas, crls, responders, bootstrapCas] = await Promise.all([
    listCas(actor),
    getCrlStates(actor).catch(() => []),
    getOcspResponderStates(actor).catch(() => []),
    listBootstrapCas(actor),
  ]);
  const now = new Date();
  const publicUrl = config().publicUrl;
  const pkcs11 = config().pkcs11;
  const tokenLabel = pkcs11 ? (pkcs11.tokenLabel ?? `slot ${pkcs11.slot}`) : null;
  const labels = { mosquitto: "Mosquitto", emqx: "EMQX", rabbitmq: "RabbitMQ" } as const;
  const variants = BROKER_KINDS.flatMap((broker): { key: string; broker: BrokerKind; label: string; crlMode?: RabbitCrlMode }[] =>
    broker === "rabbitmq"
      ? [
          { key: "rabbitmq", broker, label: "RabbitMQ (CRL from CDP)", crlMode: "cdp" as const },
          { key: "rabbitmq-hash-dir", broker, label: "RabbitMQ (CRL hash dir)", crlMode: "hash-dir" as const },
        ]
      : [{ key: broker, broker, label: labels[broker], crlMode: undefined }],
  );
  const snippets = variants.map(({ key, broker, label, crlMode }) => {
    let text: string;
    try {
      text = generateBrokerConfig({ broker, url: publicUrl, crlMode });
    } catch (e) {
      text = `# ${e instanceof Error ? e.message : "unavailable"}`;
    }
    return { broker: key, label, text };
  });

  // Roots first, each followed by the CAs it signed.
  const ordered: { ca: CaView; depth: number }[] = [];
  const visit = (ca: CaView, depth: number) => {
    ordered.push({ ca, depth });
    for (const child of cas.filter((c) => c.parentId === ca.id)) visit(child, depth + 1);
  };
  for (const root of cas.filter((c) => !c.parentId || !cas.some((p) => p.id === c.parentId))) visit(root, 0);

  return (
    <>
      <PageHeader
        title="Certificate authorities"
        description="The hierarchy that signs device certificates, the URLs brokers fetch, and ready-made broker configuration."
        actions={tokenLabel && can(actor.role, "cas:write") ? <TokenCaDialog submit={tokenCaAction} tokenLabel={tokenLabel} /> : undefined}
      />
      {ordered.length ? (
        <div className="space-y-4">
          {ordered.map(({ ca, depth }) => (
            <CaCard key={ca.id} ca={ca} depth={depth} crl={crls.find((c) => c.caId === ca.id)} responders={responders.filter((r) => r.caId === ca.id)} now={now} canWrite={canWrite} />
          ))}
          <Card aria-labelledby="bootstrap-cas">
            <CardHeader
              id="bootstrap-cas"
              title="Bootstrap CAs (EST zero touch)"
              description="Manufacturer (IDevID) CAs: a device presenting a certificate one of them signed gets its first certificate over EST without a person."
            />
            <BootstrapCas
              rows={bootstrapCas}
              canWrite={canWrite}
              nowMs={now.getTime()}
              actions={{
                register: registerBootstrapCaAction,
                remove: Object.fromEntries(bootstrapCas.map((b) => [b.id, deleteBootstrapCaAction.bind(null, b.id)])),
                attachCrl: Object.fromEntries(bootstrapCas.map((b) => [b.id, attachBootstrapCrlAction.bind(null, b.id)])),
              }}
            />
          </Card>
          <Card aria-labelledby="broker-config">
            <CardHeader
              id="broker-config"
              title="Broker configuration"
              description={<>mTLS with CRL checking (plus a PSK listener where the broker has one), using the files <span className="font-mono">certfleet broker-sync</span> keeps current. Same output as <span className="font-mono">certfleet broker-config</span>.</>}
            />
            <BrokerSnippets snippets={snippets} />
          </Card>
        </div>
      ) : (
        <EmptyState icon={<ShieldCheck />} title="No certificate authority yet" description="The CA hierarchy is created on the server's first start." />
      )}
    </>
  );
}

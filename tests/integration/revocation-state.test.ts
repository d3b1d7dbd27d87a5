// Broker-facing revocation state across the one poller (lib/services/revocation-state.ts): an
// OCSP stale mark that a poll begun before the revocation cannot clear (in-process, ordered by
// hand), and — with real server processes on one real database — CRL numbers that never go back
// for a client alternating between two instances, a half-life re-sign on one instance followed by
// the others, and OCSP answers (POST by `openssl ocsp`, GET by raw path) that are never "good"
// once the revoke call has returned.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { testProviders } from "../helpers/databases";
import { startInstance, type TestInstance } from "../helpers/instance";
import { launchServer, startServer, type TestServer } from "../helpers/server";
import { api } from "../helpers/http";
import { Workdir } from "../helpers/openssl";
import { db } from "@/lib/db";
import type { Actor } from "@/lib/auth/roles";
import { revocationEventCount } from "@/lib/events";
import { createDevice } from "@/lib/services/devices";
import { issueDeviceCertificate, revokeCertificate } from "@/lib/services/certificates";
import { forgetCrlStateForTests, getServedCrl, takeSiblingCrl } from "@/lib/services/crl";
import { forgetSignersForTests } from "@/lib/services/cas";
import { answerOcsp, cachedOcspAnswer, followOcspState, forgetOcspStateForTests } from "@/lib/services/ocsp";
import { startRevocationState } from "@/lib/services/revocation-state";
import { ZIssueCertificate } from "@/lib/validation/certificates";

const operator: Actor = { kind: "user", id: "op", label: "op@test", role: "operator" };
const firstPem = (chain: string) => /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/.exec(chain)![0];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(testProviders())("OCSP stale mark in one process on %s", (provider) => {
  let inst: TestInstance;
  let work: Workdir;
  let stop: () => void;

  beforeAll(async () => {
    inst = await startInstance(provider);
    forgetSignersForTests();
    forgetCrlStateForTests();
    forgetOcspStateForTests();
    work = new Workdir();
    // The local-event wiring only; the test plays the poll's part itself, in the racing order.
    stop = startRevocationState({ pollMs: 3_600_000, log: () => undefined });
  });
  afterAll(async () => {
    stop?.();
    work?.dispose();
    await inst?.close();
  });

  it("is not cleared by a poll that read the version before the revocation", async () => {
    const device = await createDevice(operator, { name: "racing-poll" });
    const issued = await issueDeviceCertificate(operator, device.id, ZIssueCertificate.parse({ generateKey: { algorithm: "EC-P256" } }));
    work.file("leaf.pem", issued.certificatePem);
    work.file("issuing.pem", firstPem(issued.chainPem));
    work.file("chain.pem", issued.chainPem);
    work.ok(["ocsp", "-issuer", "issuing.pem", "-cert", "leaf.pem", "-no_nonce", "-reqout", "req.der"]);
    const request = new Uint8Array(work.read("req.der"));
    const status = (body: Uint8Array, name: string) => {
      work.file(name, body);
      return work.ok(["ocsp", "-respin", name, "-issuer", "issuing.pem", "-cert", "leaf.pem", "-CAfile", "chain.pem", "-no_nonce"]);
    };

    const good = await answerOcsp("issuing-1", request);
    expect(status(good.body, "good.resp")).toContain("leaf.pem: good");
    expect(cachedOcspAnswer("issuing-1", request)).toBe(good);

    // A poll starts: it notes the event count and reads the versions…
    const eventsBefore = revocationEventCount();
    const staleRead = await db().certificateAuthority.findMany({ where: { kind: "issuing" }, select: { id: true, slug: true, revocationVersion: true } });
    // …a revocation commits and announces itself meanwhile…
    await revokeCertificate(operator, issued.certificate.id, "keyCompromise");
    expect(cachedOcspAnswer("issuing-1", request)).toBeNull();
    // …and the poll's result, older than the revocation, arrives after it.
    followOcspState({ cas: staleRead.map((ca) => ({ ...ca, newestCrlNumber: null })), eventsBefore, peers: 0, remotePeers: 0 });
    expect(cachedOcspAnswer("issuing-1", request)).toBeNull();
    const revoked = await answerOcsp("issuing-1", request);
    expect(status(revoked.body, "revoked.resp")).toMatch(/leaf\.pem: revoked[\s\S]*Reason: keyCompromise/);

    // A poll that began after the event clears the mark; the cache then holds the revoked answer.
    const after = revocationEventCount();
    const freshRead = await db().certificateAuthority.findMany({ where: { kind: "issuing" }, select: { id: true, slug: true, revocationVersion: true } });
    followOcspState({ cas: freshRead.map((ca) => ({ ...ca, newestCrlNumber: null })), eventsBefore: after, peers: 0, remotePeers: 0 });
    await answerOcsp("issuing-1", request);
    const cached = cachedOcspAnswer("issuing-1", request);
    expect(cached).not.toBeNull();
    expect(status(cached!.body, "cached.resp")).toContain("leaf.pem: revoked");
  });
});

// What a sibling worker announces (number and moment, lib/services/crl.ts), played by hand in one
// process: no poll runs and no hold-back timer is relied on, so only the request path is tested.
describe.each(testProviders())("CRLs a sibling worker announces, in one process on %s", (provider) => {
  let inst: TestInstance;

  beforeAll(async () => {
    inst = await startInstance(provider);
    forgetSignersForTests();
    forgetCrlStateForTests();
  });
  afterAll(async () => {
    forgetCrlStateForTests();
    await inst?.close();
  });

  it("serves an announced CRL from its moment on, loading it on the request if need be, and the highest one due", async () => {
    const first = (await getServedCrl("issuing-1"))!;
    const n = first.number;
    const caId = first.caId;
    // Rows as a sibling would have stored them (the bytes do not matter to this process).
    const store = (number: bigint) =>
      db().crl.create({
        data: { caId, number, thisUpdate: first.thisUpdate, nextUpdate: first.nextUpdate, entryCount: 0, revocationVersion: first.revocationVersion, der: Buffer.from(first.der), sizeBytes: first.der.length, createdAt: new Date() },
        select: { id: true },
      });
    const served = async () => (await getServedCrl("issuing-1"))!.number;
    const announce = (number: bigint, publishAt: number) => takeSiblingCrl({ caId, slug: "issuing-1", number: String(number), publishAt }, () => undefined);

    // Announced with its moment already past, before this worker could read it: the load on
    // arrival finds nothing, so a request serves what there is…
    announce(n + 1n, Date.now() - 1);
    await sleep(100);
    expect(await served()).toBe(n);
    // …and once it can be read, the next request loads it before answering.
    await store(n + 1n);
    expect(await served()).toBe(n + 1n);

    // Two CRLs signed at once, the higher number with the earlier moment (stored in the other
    // order): the higher one is served from its moment, and the lower one never shows.
    await store(n + 2n);
    await store(n + 3n);
    const t0 = Date.now();
    announce(n + 3n, t0 + 1_500);
    announce(n + 2n, t0 + 3_000);
    await sleep(200);
    expect(await served()).toBe(n + 1n);
    await sleep(t0 + 1_700 - Date.now());
    expect(await served()).toBe(n + 3n);
    await sleep(t0 + 3_200 - Date.now());
    expect(await served()).toBe(n + 3n);

    // A worker that starts (nothing served) while the newest CRL is inside its hold-back starts
    // with the one before, as its siblings still serve, and takes the newest at its moment.
    await store(n + 4n);
    forgetCrlStateForTests();
    expect(await served()).toBe(n + 3n);
    await sleep(1_000);
    expect(await served()).toBe(n + 4n);
  });
});

// Several instances share a PostgreSQL database (SQLite is the one-process embedded default).
describe.each(testProviders().filter((p) => p === "postgresql"))("several instances on one %s database", (provider) => {
  let a: TestServer;
  let b: TestServer;
  let token: string;
  let work: Workdir;
  const spawned: TestServer[] = [];

  const crlNumberOf = async (server: TestServer, name: string) => {
    work.file(name, Buffer.from(await (await fetch(`${server.url}/pki/crl/issuing-1.crl`)).arrayBuffer()));
    const out = work.ok(["crl", "-inform", "DER", "-in", name, "-noout", "-crlnumber"]);
    return parseInt(/crlNumber=0x([0-9A-F]+)/i.exec(out)![1], 16);
  };
  const enroll = async (server: TestServer, name: string) => {
    const device = await api(server.url, token, "POST", "/api/v1/devices", { name });
    expect(device.status).toBe(201);
    const issued = await api(server.url, token, "POST", `/api/v1/devices/${device.data.id}/certificates`, { generateKey: { algorithm: "EC-P256" } });
    expect(issued.status).toBe(201);
    work.file(`${name}.pem`, issued.data.certificatePem);
    return { certId: issued.data.certificate.id as string, serial: issued.data.certificate.serialHex as string };
  };
  /** Fetches from the servers in turn for `ms`, recording what each served. */
  const alternate = async (servers: TestServer[], ms: number) => {
    const seen: { at: number; who: number; n: number }[] = [];
    const end = Date.now() + ms;
    for (let i = 0; Date.now() < end; i++) {
      const who = i % servers.length;
      const n = await crlNumberOf(servers[who], `alt-${who}.crl`);
      seen.push({ at: Date.now(), who, n });
    }
    return seen;
  };
  const backwards = (seen: { n: number }[]) => seen.filter((s, i) => i > 0 && s.n < seen[i - 1].n);

  beforeAll(async () => {
    a = await startServer(provider);
    b = await launchServer(a.database, { CERTFLEET_PUBLIC_URL: a.env.CERTFLEET_PUBLIC_URL });
    token = execFileSync(process.execPath, ["cli/bin.mjs", "token", "create", "--name", "ops", "--role", "operator"], { env: { ...process.env, ...a.env }, encoding: "utf8" }).trim();
    work = new Workdir();
    work.file("root.pem", await (await fetch(`${a.url}/pki/ca/root.pem`)).text());
    work.file("issuing.pem", await (await fetch(`${a.url}/pki/ca/issuing-1.pem`)).text());
  });
  afterAll(async () => {
    work?.dispose();
    for (const s of spawned) await s.kill();
    await b?.kill();
    await a?.stop();
  });

  it("serves CRL numbers that never go back to a client alternating between instances, and the newest on both soon after a revocation", async () => {
    const victim = await enroll(a, "crl-victim");
    // Both instances settle on one CRL (each may have signed at start).
    const settled = await alternate([a, b], 3000);
    const before = settled[settled.length - 1].n;

    await api(a.url, token, "POST", `/api/v1/certificates/${victim.certId}/revoke`, { reason: "keyCompromise" }).then((r) => expect(r.status).toBe(200));
    const revokedAt = Date.now();
    const seen = await alternate([a, b], 4000);
    expect(backwards(seen)).toEqual([]);
    const newest = Math.max(...seen.map((s) => s.n));
    expect(newest).toBeGreaterThan(before);
    const reached = [0, 1].map((who) => seen.find((s) => s.who === who && s.n === newest)!.at - revokedAt);
    // Hold-back 1.2 s after the CRL is stored, debounce and signing before that: ~1.5 s on a quiet
    // machine; the bound leaves room for a loaded one (each fetch here also runs openssl).
    for (const ms of reached) expect(ms).toBeLessThan(3000);
    console.log(`[revocation-state] ${provider}: newest CRL served by A after ${reached[0]} ms, by B after ${reached[1]} ms (${seen.length} fetches)`);
    // That number lists the revoked certificate, on both.
    for (const server of [a, b]) {
      await crlNumberOf(server, "final.crl");
      expect(work.ok(["crl", "-inform", "DER", "-in", "final.crl", "-noout", "-text"]).toUpperCase()).toContain(victim.serial.toUpperCase().replace(/^0+/, ""));
    }
  });

  it("follows a half-life re-sign made by another instance", { timeout: 120_000 }, async () => {
    // An instance whose CRLs live 72 s: re-signed at half of thisUpdate (a minute back) to nextUpdate, ~6 s after signing.
    const c = await launchServer(a.database, { CERTFLEET_PUBLIC_URL: a.env.CERTFLEET_PUBLIC_URL, CERTFLEET_CRL_VALIDITY_HOURS: "0.02" });
    spawned.push(c);
    const victim = await enroll(c, "half-life");
    // Revoked on C, so C signs the current CRL (a short one) and A and B follow it.
    await api(c.url, token, "POST", `/api/v1/certificates/${victim.certId}/revoke`, { reason: "superseded" }).then((r) => expect(r.status).toBe(200));
    const seen = await alternate([a, b, c], 12_000);
    expect(backwards(seen)).toEqual([]);
    const numbers = [...new Set(seen.map((s) => s.n))];
    // The revocation's CRL, then at least one half-life re-sign.
    expect(numbers.length).toBeGreaterThanOrEqual(2);
    const newest = Math.max(...numbers);
    for (const [who, server] of [a, b].entries()) {
      expect(seen.some((s) => s.who === who && s.n === newest), `instance ${who} serves ${newest}`).toBe(true);
      // The one A and B serve is C's short CRL, not one of their own 24-hour ones.
      await crlNumberOf(server, "follow.crl");
      const dates = work.ok(["crl", "-inform", "DER", "-in", "follow.crl", "-noout", "-lastupdate", "-nextupdate"]);
      const last = Date.parse(/lastUpdate=(.+)/.exec(dates)![1]);
      const next = Date.parse(/nextUpdate=(.+)/.exec(dates)![1]);
      expect(next - last).toBe(132_000);
    }
  });

  it("never answers OCSP good by POST or GET once the revoke call has returned", { timeout: 180_000 }, async () => {
    const ocspPost = (server: TestServer, name: string) =>
      work.run(["ocsp", "-issuer", "issuing.pem", "-cert", `${name}.pem`, "-no_nonce", "-url", `${server.url}/pki/ocsp/issuing-1`, "-CAfile", "root.pem", "-verify_other", "issuing.pem"]).stdout;
    const ocspGet = async (server: TestServer, name: string) => {
      const res = await fetch(`${server.url}/pki/ocsp/issuing-1/${encodeURIComponent(work.read(`${name}.req`).toString("base64"))}`);
      const body = Buffer.from(await res.arrayBuffer());
      work.file(`${name}.resp`, body);
      const text = work.ok(["ocsp", "-respin", `${name}.resp`, "-issuer", "issuing.pem", "-cert", `${name}.pem`, "-CAfile", "root.pem", "-verify_other", "issuing.pem", "-no_nonce"]);
      return { text, body, etag: res.headers.get("etag") };
    };
    let afterRevoke = 0;
    for (let round = 0; round < 6; round++) {
      const name = `race-${round}`;
      const { certId } = await enroll(a, name);
      work.ok(["ocsp", "-issuer", "issuing.pem", "-cert", `${name}.pem`, "-no_nonce", "-reqout", `${name}.req`]);
      // Warm every cache of both instances with "good" (pre-produced answer, raw body, raw GET path).
      let goodGet: Awaited<ReturnType<typeof ocspGet>> | undefined;
      for (let i = 0; i < 2; i++) {
        for (const server of [a, b]) {
          expect(ocspPost(server, name)).toContain(`${name}.pem: good`);
          const got = await ocspGet(server, name);
          expect(got.text).toContain(`${name}.pem: good`);
          if (server === a) goodGet = got;
        }
      }
      // Revocations land at different phases of the half-second poll.
      await sleep(round * 170);
      const res = await api(a.url, token, "POST", `/api/v1/certificates/${certId}/revoke`, { reason: "keyCompromise" });
      expect(res.status).toBe(200);
      const firstGet = await ocspGet(a, name);
      expect(firstGet.text).toContain(`${name}.pem: revoked`);
      // The GET bytes and their validator change at once.
      expect(firstGet.body.equals(goodGet!.body)).toBe(false);
      expect(firstGet.etag).not.toBe(goodGet!.etag);
      // For 1.3 s (two or more polls of the other instance), and at least twice on a slow machine.
      const end = Date.now() + 1300;
      let bRevoked = false;
      for (let i = 0; i < 2 || Date.now() < end; i++) {
        expect(ocspPost(a, name)).toContain(`${name}.pem: revoked`);
        expect((await ocspGet(a, name)).text).toContain(`${name}.pem: revoked`);
        afterRevoke += 2;
        // The other instance: revoked within a poll, and never good again after that.
        const other = ocspPost(b, name);
        if (bRevoked) expect(other).toContain(`${name}.pem: revoked`);
        bRevoked ||= other.includes(`${name}.pem: revoked`);
      }
      expect(bRevoked).toBe(true);
    }
    expect(afterRevoke).toBeGreaterThanOrEqual(6 * 4);
  });
});

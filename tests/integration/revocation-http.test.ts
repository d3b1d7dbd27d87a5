// Revocation as brokers see it, against the real server over HTTP and HTTPS: OCSP checked by
// `openssl ocsp`, CRLs by `openssl crl` / `openssl verify -crl_check`, and CRL numbering under
// 100 parallel revocations (on PostgreSQL with two server processes on one database).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import { testProviders } from "../helpers/databases";
import { launchServer, startServer, type TestServer } from "../helpers/server";
import { api } from "../helpers/http";
import { Workdir } from "../helpers/openssl";

const MALFORMED = Buffer.from([0x30, 0x03, 0x0a, 0x01, 0x01]);
const UNAUTHORIZED = Buffer.from([0x30, 0x03, 0x0a, 0x01, 0x06]);

function cli(server: TestServer, args: string[]): string {
  return execFileSync(process.execPath, ["cli/bin.mjs", ...args], { env: { ...process.env, ...server.env }, encoding: "utf8", stdio: ["pipe", "pipe", "pipe"] }).trim();
}

async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.each(testProviders())("broker endpoints on %s", (provider) => {
  let server: TestServer;
  let token: string;
  let work: Workdir;
  const devices: Record<string, { id: string; certId: string; serial: string }> = {};

  const post = (path: string, body: unknown) => api(server.url, token, "POST", path, body);
  const crlDer = async () => Buffer.from(await (await fetch(`${server.url}/pki/crl/issuing-1.crl`)).arrayBuffer());
  const crlText = async () => {
    work.file("now.crl", await crlDer());
    return work.ok(["crl", "-inform", "DER", "-in", "now.crl", "-noout", "-text"]);
  };
  const crlNumber = (text: string) => Number(/CRL Number: \n\s+(\d+)/.exec(text)?.[1] ?? /CRL Number:\s*\n?\s*(\d+)/.exec(text)?.[1]);
  const ocsp = (name: string, extra: string[] = []) =>
    work.run(["ocsp", "-issuer", "issuing.pem", "-cert", `${name}.pem`, "-url", `${server.url}/pki/ocsp/issuing-1`, "-CAfile", "root.pem", ...extra]);

  async function enroll(name: string) {
    const created = await post("/api/v1/devices", { name });
    expect(created.status).toBe(201);
    work.ok(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${name}.key`, "-subj", `/CN=${name}`, "-out", `${name}.csr`]);
    const issued = await post(`/api/v1/devices/${created.data.id}/certificates`, { csr: work.read(`${name}.csr`).toString() });
    expect(issued.status).toBe(201);
    work.file(`${name}.pem`, issued.data.certificatePem);
    devices[name] = { id: created.data.id, certId: issued.data.certificate.id, serial: issued.data.certificate.serialHex };
    return devices[name];
  }

  beforeAll(async () => {
    server = await startServer(provider);
    token = cli(server, ["token", "create", "--name", "ops", "--role", "operator"]);
    work = new Workdir();
    work.file("root.pem", await (await fetch(`${server.url}/pki/ca/root.pem`)).text());
    work.file("issuing.pem", await (await fetch(`${server.url}/pki/ca/issuing-1.pem`)).text());
    work.file("chain.pem", await (await fetch(`${server.url}/pki/ca/issuing-1/chain.pem`)).text());
    await enroll("dev-a");
    await enroll("dev-b");
  });
  afterAll(async () => {
    work?.dispose();
    await server?.stop();
  });

  it("serves the CA certificates at the AIA caIssuers URL (DER) and the chain as PEM", async () => {
    const text = work.ok(["x509", "-in", "dev-a.pem", "-noout", "-text"]);
    const caIssuers = /CA Issuers - URI:(\S+)/.exec(text)![1];
    const res = await fetch(caIssuers);
    expect(res.headers.get("content-type")).toBe("application/pkix-cert");
    work.file("issuing.der", Buffer.from(await res.arrayBuffer()));
    expect(work.ok(["x509", "-inform", "DER", "-in", "issuing.der", "-noout", "-subject"])).toContain("CertFleet Issuing CA 1");
    expect(work.ok(["verify", "-CAfile", "root.pem", "-untrusted", "chain.pem", "dev-a.pem"])).toContain("OK");
  });

  it("answers OCSP good, then revoked with the reason, and unknown for a stranger", async () => {
    const good = ocsp("dev-a");
    expect(good.stderr + good.stdout).toContain("Response verify OK");
    expect(good.stdout).toContain("dev-a.pem: good");
    expect(ocsp("dev-a", ["-no_nonce"]).stdout).toContain("dev-a.pem: good");
    // The same nonce-less request by GET and POST, answered from the caches keyed by the raw
    // URL path and the raw body: a revocation must reach those too.
    work.ok(["ocsp", "-issuer", "issuing.pem", "-cert", "dev-a.pem", "-no_nonce", "-reqout", "dev-a.req"]);
    const getUrl = `${server.url}/pki/ocsp/issuing-1/${encodeURIComponent(work.read("dev-a.req").toString("base64"))}`;
    const cachedStatus = async (how: "GET" | "POST") => {
      const res = how === "GET" ? await fetch(getUrl) : await fetch(`${server.url}/pki/ocsp/issuing-1`, { method: "POST", headers: { "content-type": "application/ocsp-request" }, body: new Uint8Array(work.read("dev-a.req")) });
      work.file(`dev-a-${how}.resp`, Buffer.from(await res.arrayBuffer()));
      return work.ok(["ocsp", "-respin", `dev-a-${how}.resp`, "-issuer", "issuing.pem", "-cert", "dev-a.pem", "-CAfile", "root.pem", "-no_nonce"]);
    };
    for (let i = 0; i < 3; i++) {
      expect(await cachedStatus("GET")).toContain("dev-a.pem: good");
      expect(await cachedStatus("POST")).toContain("dev-a.pem: good");
    }

    const before = crlNumber(await crlText());
    const revoked = await post(`/api/v1/certificates/${devices["dev-a"].certId}/revoke`, { reason: "keyCompromise" });
    expect(revoked.status).toBe(200);
    const after = await until(() => Promise.resolve(ocsp("dev-a")), (r) => r.stdout.includes("revoked"), 3000);
    expect(after.stderr + after.stdout).toContain("Response verify OK");
    expect(after.stdout).toContain("dev-a.pem: revoked");
    expect(after.stdout).toMatch(/Reason: keyCompromise/);
    expect(after.stdout).toMatch(/Revocation Time: /);
    expect(await until(() => cachedStatus("GET"), (t) => t.includes("revoked"), 3000)).toContain("dev-a.pem: revoked");
    expect(await until(() => cachedStatus("POST"), (t) => t.includes("revoked"), 3000)).toContain("dev-a.pem: revoked");
    expect(ocsp("dev-b").stdout).toContain("dev-b.pem: good");

    const unknown = work.run(["ocsp", "-issuer", "issuing.pem", "-serial", "0x1234567890abcdef", "-url", `${server.url}/pki/ocsp/issuing-1`, "-CAfile", "root.pem"]);
    expect(unknown.stdout).toMatch(/unknown/);

    // the CRL follows within a second and its number went up
    const text = await until(crlText, (t) => t.toUpperCase().includes(devices["dev-a"].serial.toUpperCase().replace(/^0+/, "")), 5000);
    expect(crlNumber(text)).toBeGreaterThan(before);
    expect(text).toMatch(/Key Compromise/);
  });

  it("serves CRLs that OpenSSL verifies and uses to refuse the revoked device only", async () => {
    work.file("crl.der", await crlDer());
    const verify = work.run(["crl", "-inform", "DER", "-in", "crl.der", "-CAfile", "chain.pem", "-noout"]);
    expect(verify.stderr + verify.stdout).toContain("verify OK");
    const pem = await (await fetch(`${server.url}/pki/crl/issuing-1.pem`)).text();
    expect(pem).toMatch(/^-----BEGIN X509 CRL-----/);
    work.file("crl.pem", pem);
    const a = work.run(["verify", "-crl_check", "-CRLfile", "crl.pem", "-CAfile", "root.pem", "-untrusted", "issuing.pem", "dev-a.pem"]);
    expect(a.status).not.toBe(0);
    expect(a.stdout + a.stderr).toMatch(/certificate revoked/);
    const b = work.run(["verify", "-crl_check", "-CRLfile", "crl.pem", "-CAfile", "root.pem", "-untrusted", "issuing.pem", "dev-b.pem"]);
    expect(b.stdout).toContain("dev-b.pem: OK");
  });

  it("serves the CRL with validators and 304s", async () => {
    const first = await fetch(`${server.url}/pki/crl/issuing-1.crl`);
    const etag = first.headers.get("etag")!;
    expect(etag).toBeTruthy();
    expect(first.headers.get("last-modified")).toBeTruthy();
    expect(first.headers.get("cache-control")).toMatch(/max-age=\d+/);
    expect(new Date(first.headers.get("expires")!).getTime()).toBeGreaterThan(Date.now());
    const again = await fetch(`${server.url}/pki/crl/issuing-1.crl`, { headers: { "if-none-match": etag } });
    expect(again.status).toBe(304);
  });

  it("serves the CRL over HTTPS to curl with the CA as trust anchor", () => {
    const out = execFileSync("curl", ["-sS", "--fail", "--cacert", work.path("root.pem"), "-o", work.path("https.crl"), "-w", "%{http_code} %{ssl_verify_result}", `https://127.0.0.1:${server.httpsPort}/pki/crl/issuing-1.crl`], { encoding: "utf8" });
    expect(out).toBe("200 0");
    expect(work.ok(["crl", "-inform", "DER", "-in", "https.crl", "-noout", "-issuer"])).toContain("CertFleet Issuing CA 1");
    // TLS 1.2 is the floor: a TLS 1.1 client gets no connection.
    const tls11 = spawnSync("curl", ["-sS", "--cacert", work.path("root.pem"), "--tls-max", "1.1", "-o", "/dev/null", `https://127.0.0.1:${server.httpsPort}/pki/chain.pem`], { encoding: "utf8" });
    expect(tls11.status).not.toBe(0);
    const tls12 = spawnSync("curl", ["-sS", "--fail", "--cacert", work.path("root.pem"), "--tlsv1.2", "--tls-max", "1.2", "-o", "/dev/null", `https://127.0.0.1:${server.httpsPort}/pki/chain.pem`], { encoding: "utf8" });
    expect(tls12.status).toBe(0);
  });

  it("answers OCSP by GET with HTTP caching headers, and echoes nonces", async () => {
    work.ok(["ocsp", "-issuer", "issuing.pem", "-cert", "dev-b.pem", "-no_nonce", "-reqout", "get.req"]);
    const b64 = encodeURIComponent(work.read("get.req").toString("base64"));
    const res = await fetch(`${server.url}/pki/ocsp/issuing-1/${b64}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/ocsp-response");
    expect(res.headers.get("cache-control")).toMatch(/max-age=(\d+)/);
    const maxAge = Number(/max-age=(\d+)/.exec(res.headers.get("cache-control")!)![1]);
    expect(Math.abs(new Date(res.headers.get("expires")!).getTime() - Date.now() - maxAge * 1000)).toBeLessThan(3000);
    work.file("get.resp", Buffer.from(await res.arrayBuffer()));
    const text = work.ok(["ocsp", "-respin", "get.resp", "-issuer", "issuing.pem", "-cert", "dev-b.pem", "-CAfile", "root.pem", "-no_nonce"]);
    expect(text).toContain("dev-b.pem: good");
    // A repeat (answered by its raw path) and the same request spelled differently (raw base64,
    // base64url) get the same pre-produced answer with the same validators.
    const b64raw = work.read("get.req").toString("base64");
    for (const path of [b64, b64, b64raw, work.read("get.req").toString("base64url")]) {
      const again = await fetch(`${server.url}/pki/ocsp/issuing-1/${path}`);
      expect(Buffer.from(await again.arrayBuffer()).equals(work.read("get.resp"))).toBe(true);
      for (const h of ["etag", "last-modified", "expires", "content-type"]) expect(again.headers.get(h), h).toBe(res.headers.get(h));
      expect(again.headers.get("cache-control")).toMatch(/^public, max-age=\d+, no-transform, must-revalidate$/);
    }
    // By POST the same answer carries no HTTP caching (RFC 5019 section 6 is about GET).
    const posted = await fetch(`${server.url}/pki/ocsp/issuing-1`, { method: "POST", headers: { "content-type": "application/ocsp-request" }, body: new Uint8Array(work.read("get.req")) });
    expect(Buffer.from(await posted.arrayBuffer()).equals(work.read("get.resp"))).toBe(true);
    expect(posted.headers.get("cache-control")).toBe("no-cache, no-store");
    expect(posted.headers.get("etag")).toBeNull();
    expect(posted.headers.get("content-length")).toBe(String(work.read("get.resp").length));

    work.ok(["ocsp", "-issuer", "issuing.pem", "-cert", "dev-b.pem", "-reqout", "nonce.req"]);
    const withNonce = await fetch(`${server.url}/pki/ocsp/issuing-1`, { method: "POST", headers: { "content-type": "application/ocsp-request" }, body: new Uint8Array(work.read("nonce.req")) });
    work.file("nonce.resp", Buffer.from(await withNonce.arrayBuffer()));
    const checked = work.run(["ocsp", "-reqin", "nonce.req", "-respin", "nonce.resp", "-CAfile", "root.pem", "-verify_other", "issuing.pem", "-resp_text"]);
    expect(checked.stdout + checked.stderr).toContain("Response verify OK");
    expect(checked.stdout + checked.stderr).not.toMatch(/Nonce Verify error|no nonce in response/i);
    expect(withNonce.headers.get("cache-control")).toBe("no-cache, no-store");
    // Every nonce request gets a fresh answer (never one from a cache), each verified by openssl.
    for (let i = 0; i < 3; i++) {
      work.ok(["ocsp", "-issuer", "issuing.pem", "-cert", "dev-b.pem", "-reqout", `nonce${i}.req`]);
      const viaGet = i === 2;
      const answer = viaGet
        ? await fetch(`${server.url}/pki/ocsp/issuing-1/${encodeURIComponent(work.read(`nonce${i}.req`).toString("base64"))}`)
        : await fetch(`${server.url}/pki/ocsp/issuing-1`, { method: "POST", headers: { "content-type": "application/ocsp-request" }, body: new Uint8Array(work.read(`nonce${i}.req`)) });
      if (viaGet) expect(answer.headers.get("cache-control")).toBe("no-cache, no-store");
      work.file(`nonce${i}.resp`, Buffer.from(await answer.arrayBuffer()));
      const out = work.run(["ocsp", "-reqin", `nonce${i}.req`, "-respin", `nonce${i}.resp`, "-CAfile", "root.pem", "-verify_other", "issuing.pem", "-resp_text"]);
      expect(out.stdout + out.stderr).toContain("Response verify OK");
      expect(out.stdout + out.stderr).not.toMatch(/Nonce Verify error|no nonce in response/i);
      expect(out.stdout).toContain("Cert Status: good");
    }
  });

  it("answers bad OCSP input in the protocol and keeps serving", async () => {
    const postRaw = async (body: Uint8Array | string, slug = "issuing-1") => {
      const res = await fetch(`${server.url}/pki/ocsp/${slug}`, { method: "POST", headers: { "content-type": "application/ocsp-request" }, body: typeof body === "string" ? body : new Uint8Array(body) });
      return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
    };
    work.ok(["ocsp", "-issuer", "issuing.pem", "-cert", "dev-b.pem", "-no_nonce", "-reqout", "ok.req"]);
    const good = work.read("ok.req");
    for (const bad of [Buffer.from("definitely not DER"), Buffer.alloc(0), good.subarray(0, good.length - 7), Buffer.concat([good, Buffer.from([0, 0])])]) {
      const r = await postRaw(bad);
      expect(r.status).toBe(200);
      expect(r.body.equals(MALFORMED)).toBe(true);
    }
    expect((await postRaw(Buffer.alloc(11 * 1024, 0x30))).status).toBe(413);
    for (let i = 0; i < 2; i++) {
      const badB64 = await fetch(`${server.url}/pki/ocsp/issuing-1/%%%not-base64***`);
      expect(Buffer.from(await badB64.arrayBuffer()).equals(MALFORMED)).toBe(true);
      const truncated = await fetch(`${server.url}/pki/ocsp/issuing-1/${encodeURIComponent(good.subarray(0, good.length - 7).toString("base64"))}`);
      expect(truncated.status).toBe(200);
      expect(truncated.headers.get("cache-control")).toBe("no-cache, no-store");
      expect(Buffer.from(await truncated.arrayBuffer()).equals(MALFORMED)).toBe(true);
    }
    expect((await postRaw(good, "no-such-ca")).body.equals(UNAUTHORIZED)).toBe(true);
    // another issuer: a CA this responder does not serve
    work.ok(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "other.key", "-subj", "/CN=Other CA", "-days", "2", "-out", "other.pem"]);
    const foreign = work.run(["ocsp", "-issuer", "other.pem", "-serial", "0x01", "-url", `${server.url}/pki/ocsp/issuing-1`, "-no_nonce"]);
    expect(foreign.stdout + foreign.stderr).toMatch(/unauthorized/i);
    expect((await fetch(`${server.url}/pki/crl/no-such-ca.crl`)).status).toBe(404);
    // still serving
    expect(ocsp("dev-b").stdout).toContain("dev-b.pem: good");
  });

  it("lists all of 100 parallel revocations, with CRL numbers that never repeat", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 100; i += 10) {
      const batch = await Promise.all(
        Array.from({ length: 10 }, async (_, k) => {
          const d = await post("/api/v1/devices", { name: `bulk-${i + k}` });
          const c = await post(`/api/v1/devices/${d.data.id}/certificates`, { generateKey: { algorithm: "EC-P256" } });
          return { certId: c.data.certificate.id as string, serial: c.data.certificate.serialHex as string };
        }),
      );
      ids.push(...batch.map((b) => b.certId));
      for (const b of batch) devices[`bulk-${b.certId}`] = { id: "", certId: b.certId, serial: b.serial };
    }
    const serials = Object.entries(devices).filter(([k]) => k.startsWith("bulk-")).map(([, v]) => v.serial);

    let second: TestServer | null = null;
    if (provider === "postgresql") second = await launchServer(server.database, { CERTFLEET_PUBLIC_URL: server.env.CERTFLEET_PUBLIC_URL });
    try {
      const bases = second ? [server.url, second.url] : [server.url];
      const seen: number[] = [];
      const watcher = (async () => {
        for (let i = 0; i < 30; i++) {
          for (const base of bases) {
            work.file(`w${i}.crl`, Buffer.from(await (await fetch(`${base}/pki/crl/issuing-1.crl`)).arrayBuffer()));
            seen.push(crlNumber(work.ok(["crl", "-inform", "DER", "-in", `w${i}.crl`, "-noout", "-crlnumber"]).replace("crlNumber=0x", "CRL Number: \n ").replace(/CRL Number: \n (\w+)/, (_m, h) => `CRL Number: \n ${parseInt(h, 16)}`)));
          }
          await new Promise((r) => setTimeout(r, 50));
        }
      })();
      const results = await Promise.all(ids.map((id, i) => api(bases[i % bases.length], token, "POST", `/api/v1/certificates/${id}/revoke`, { reason: "cessationOfOperation" })));
      expect(results.every((r) => r.status === 200)).toBe(true);
      await watcher;
      for (const base of bases) {
        const final = await until(
          async () => {
            work.file("final.crl", Buffer.from(await (await fetch(`${base}/pki/crl/issuing-1.crl`)).arrayBuffer()));
            return work.ok(["crl", "-inform", "DER", "-in", "final.crl", "-noout", "-text"]).toUpperCase();
          },
          (t) => serials.every((s) => t.includes(s.toUpperCase().replace(/^0+/, ""))),
          5000,
        );
        const missing = serials.filter((s) => !final.includes(s.toUpperCase().replace(/^0+/, "")));
        expect(missing).toEqual([]);
      }
      // Numbers observed by any client never go down, and the stored history has no duplicates.
      const numbersPerBase = bases.map((_, b) => seen.filter((_, i) => i % bases.length === b));
      for (const series of numbersPerBase) for (let i = 1; i < series.length; i++) expect(series[i]).toBeGreaterThanOrEqual(series[i - 1]);
    } finally {
      await second?.kill();
    }
  });
});

// The OpenSSL peer: a CA directory in OpenSSL's own format (index.txt), its OCSP responder
// (`openssl ocsp -index … -multi`) and its CRL generator (`openssl ca -gencrl`), measured on the
// same machine in the same run as CertFleet.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

export class OpensslCa {
  readonly dir = mkdtempSync(path.join(tmpdir(), "certfleet-bench-peer-"));
  p = (f: string) => path.join(this.dir, f);

  run(args: string[]) {
    const r = spawnSync("openssl", args, { cwd: this.dir, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`openssl ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  }

  /** CA, delegated OCSP responder and one leaf, all EC P-256 like CertFleet's defaults. */
  create() {
    writeFileSync(
      this.p("ca.cnf"),
      `[ ca ]\ndefault_ca = bench\n[ bench ]\ndir = ${this.dir}\ndatabase = $dir/index.txt\ncrlnumber = $dir/crlnumber\ncertificate = $dir/ca.pem\nprivate_key = $dir/ca.key\ndefault_md = sha256\ndefault_crl_hours = 24\ncrl_extensions = crl_ext\n[ crl_ext ]\nauthorityKeyIdentifier = keyid:always\n[ ocsp ]\nbasicConstraints = CA:FALSE\nkeyUsage = critical, digitalSignature\nextendedKeyUsage = OCSPSigning\n[ leaf ]\nbasicConstraints = CA:FALSE\nkeyUsage = critical, digitalSignature\nextendedKeyUsage = clientAuth\n`,
    );
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    this.run(["req", "-x509", ...ec, "-keyout", "ca.key", "-subj", "/CN=Peer CA", "-days", "30", "-out", "ca.pem", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
    for (const [name, ext, serial] of [["ocsp", "ocsp", "0x1001"], ["leaf", "leaf", "0x7abc"]]) {
      this.run(["req", "-new", ...ec, "-keyout", `${name}.key`, "-subj", `/CN=peer-${name}`, "-out", `${name}.csr`]);
      this.run(["x509", "-req", "-in", `${name}.csr`, "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial", serial, "-days", "10", "-extfile", "ca.cnf", "-extensions", ext, "-out", `${name}.pem`]);
    }
    writeFileSync(this.p("crlnumber"), "01\n");
  }

  /** index.txt with the leaf (valid) plus `revoked` revoked entries, as `openssl ca` writes them. */
  writeIndex(revoked: number) {
    const lines = ["V\t361231235959Z\t\t7ABC\tunknown\t/CN=peer-leaf"];
    for (let i = 1; i <= revoked; i++) {
      const serial = (0x100000 + i).toString(16).toUpperCase();
      lines.push(`R\t361231235959Z\t261101000000Z,keyCompromise\t${serial.length % 2 ? "0" + serial : serial}\tunknown\t/CN=r${i}`);
    }
    writeFileSync(this.p("index.txt"), lines.join("\n") + "\n");
    writeFileSync(this.p("index.txt.attr"), "unique_subject = no\n");
  }

  /** Wall time and peak RSS of `openssl ca -gencrl` over the current index. */
  gencrl(): { ms: number; maxRssMb: number | null } {
    const t = performance.now();
    const r = spawnSync("/usr/bin/time", ["-f", "%M", "openssl", "ca", "-gencrl", "-config", "ca.cnf", "-out", "peer.crl"], { cwd: this.dir, encoding: "utf8" });
    const ms = performance.now() - t;
    if (r.status !== 0) throw new Error(`openssl ca -gencrl: ${r.stderr}`);
    const kb = Number(r.stderr.trim().split("\n").pop());
    return { ms, maxRssMb: Number.isFinite(kb) ? kb / 1024 : null };
  }

  ocspRequest(nonce: boolean): Buffer {
    const file = nonce ? "req-nonce.der" : "req.der";
    this.run(["ocsp", "-issuer", "ca.pem", "-cert", "leaf.pem", ...(nonce ? [] : ["-no_nonce"]), "-reqout", file]);
    return spawnSync("cat", [this.p(file)]).stdout;
  }

  /** Starts `openssl ocsp` with `workers` processes; returns a stop function. */
  async startResponder(port: number, workers: number): Promise<() => void> {
    // -port takes a bare number (it binds every interface); the load only ever goes to 127.0.0.1.
    const child: ChildProcess = spawn("openssl", ["ocsp", "-index", "index.txt", "-port", String(port), "-rsigner", "ocsp.pem", "-rkey", "ocsp.key", "-CA", "ca.pem", "-nmin", "60", "-multi", String(workers), "-timeout", "2", "-ignore_err"], { cwd: this.dir, stdio: ["ignore", "pipe", "pipe"] });
    let said = "";
    child.stdout?.on("data", (d) => (said += d));
    child.stderr?.on("data", (d) => (said += d));
    // The -multi parent does not pass signals on to its workers: end them, then it.
    const stop = () => {
      spawnSync("pkill", ["-KILL", "-P", String(child.pid)]);
      child.kill("SIGKILL");
    };
    // Ready when it says so, not by a test connection: an OpenSSL 3.0 -multi child that accepts a
    // connection closed without a request never serves again (it spins), which would take one of
    // its processes out of the measurement (bench/wrk.ts keeps wrk from doing the same).
    for (let i = 0; i < 400; i++) {
      if (/ACCEPT/.test(said)) {
        // The children accept once forked: a moment for them to get there.
        await new Promise((r) => setTimeout(r, 200));
        return stop;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    stop();
    throw new Error(`openssl ocsp responder did not start: ${said}`);
  }
}

export function opensslSpeedEcdsaP256(seconds: number): number {
  const r = spawnSync("openssl", ["speed", "-seconds", String(seconds), "ecdsap256"], { encoding: "utf8" });
  const m = /nistp256\)\s+[\d.]+s\s+[\d.]+s\s+([\d.]+)/.exec(r.stdout);
  return m ? Number(m[1]) : NaN;
}

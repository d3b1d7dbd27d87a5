// The credentials ZIP after an import, checked by Info-ZIP's unzip: integrity, names, contents, private modes.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createCredentialsArchive } from "@/components/import/credentials-archive";

const dir = mkdtempSync(path.join(tmpdir(), "certfleet-zip-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const unzip = (...args: string[]) => execFileSync("unzip", args, { encoding: "utf8" });

describe("createCredentialsArchive", () => {
  const credentials = [
    { name: "sensor-1", certificatePem: "-----BEGIN CERTIFICATE-----\nMIIB1\n-----END CERTIFICATE-----\n", privateKeyPem: "-----BEGIN PRIVATE KEY-----\nkey-1\n-----END PRIVATE KEY-----\n" },
    { name: "gateway_2", certificatePem: "-----BEGIN CERTIFICATE-----\nMIIB2\n-----END CERTIFICATE-----\n", privateKeyPem: "-----BEGIN PRIVATE KEY-----\nkey-2\n-----END PRIVATE KEY-----\n" },
  ];
  const chainPem = "-----BEGIN CERTIFICATE-----\nissuing\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\nroot\n-----END CERTIFICATE-----\n";
  const file = path.join(dir, "creds.zip");
  writeFileSync(file, createCredentialsArchive(credentials, chainPem, new Date("2026-05-04T10:20:30Z")));

  it("passes unzip -t and lists exactly the README, the chain and two files per device", () => {
    expect(unzip("-t", file)).toMatch(/No errors detected in compressed data/);
    const names = unzip("-Z1", file).trim().split("\n").sort();
    expect(names).toEqual(["README.txt", "ca-chain.pem", "gateway_2/gateway_2.crt.pem", "gateway_2/gateway_2.key.pem", "sensor-1/sensor-1.crt.pem", "sensor-1/sensor-1.key.pem"]);
  });

  it("holds the PEM texts byte for byte, and a README that says the keys are not kept", () => {
    expect(unzip("-p", file, "ca-chain.pem")).toBe(chainPem);
    expect(unzip("-p", file, "sensor-1/sensor-1.key.pem")).toBe(credentials[0].privateKeyPem);
    expect(unzip("-p", file, "gateway_2/gateway_2.crt.pem")).toBe(credentials[1].certificatePem);
    expect(unzip("-p", file, "README.txt")).toMatch(/^CertFleet credentials, 2026-05-04T10:20:30\.000Z\n[\s\S]*does not keep the private keys/);
  });

  it("stores entries uncompressed with mode -rw------- (they hold private keys)", () => {
    const listing = unzip("-Zl", file).split("\n").filter((l) => /\.(pem|txt)$/.test(l));
    expect(listing).toHaveLength(6);
    for (const line of listing) expect(line).toMatch(/^-rw------- .* stor /);
  });
});

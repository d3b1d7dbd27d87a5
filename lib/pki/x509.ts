// @peculiar/x509 2.x uses tsyringe, which throws at import time unless a Reflect
// polyfill is loaded first. Import the library ONLY through this module.
import "reflect-metadata";
import { webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";

export const crypto = webcrypto as unknown as Crypto;
x509.cryptoProvider.set(crypto);

export * from "@peculiar/x509";

// Asserts that a PKI call is refused with a given PkiError code, and returns the error.
import { expect } from "vitest";
import { PkiError } from "@/lib/pki";

export async function expectPkiError(promise: Promise<unknown>, code: string): Promise<PkiError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PkiError);
  expect((err as PkiError).code).toBe(code);
  return err as PkiError;
}

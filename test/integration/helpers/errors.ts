import { expect } from 'vitest';
import { isRoamlabError, type ErrorKind, type RoamlabError } from '../../../electron/core/errors';

/** Await `p`, expect it to reject with a RoamlabError of `kind`, and return that error. */
export async function expectKind(p: Promise<unknown>, kind: ErrorKind): Promise<RoamlabError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isRoamlabError(err), `expected a RoamlabError, got ${String(err)}`).toBe(true);
  expect((err as RoamlabError).kind).toBe(kind);
  return err as RoamlabError;
}

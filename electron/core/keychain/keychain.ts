/**
 * The keychain port. Secrets (passwords, hub tokens, key passphrases) live only behind it.
 * Accounts are namespaced by facility: `<facilityId>/<kind>/<username>`.
 */
export interface Keychain {
  get(account: string): Promise<string | null>;
  set(account: string, secret: string): Promise<void>;
  /** Resolves true when something was deleted. */
  delete(account: string): Promise<boolean>;
}

export type SecretKind = 'password' | 'token' | 'passphrase';

export function accountName(facilityId: string, kind: SecretKind, username: string): string {
  return `${facilityId}/${kind}/${username}`;
}

/** An in-memory twin for unit tests of pure logic; never used by the app. */
export class MemoryKeychain implements Keychain {
  private readonly items = new Map<string, string>();
  async get(account: string): Promise<string | null> {
    return this.items.get(account) ?? null;
  }
  async set(account: string, secret: string): Promise<void> {
    this.items.set(account, secret);
  }
  async delete(account: string): Promise<boolean> {
    return this.items.delete(account);
  }
}

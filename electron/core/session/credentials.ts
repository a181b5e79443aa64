import os from 'node:os';
import { RoamlabError, isRoamlabError } from '../errors';
import { accountName, type Keychain } from '../keychain/keychain';
import type { FacilityProfile } from '../profile/schema';
import type { HubClient } from '../hub/hub-client';
import type { Logger } from '../log';

const DEFAULT_TOKEN_DAYS = 14;

export interface SignInInput {
  profile: FacilityProfile;
  hub: HubClient;
  keychain: Keychain;
  username: string;
  password: string;
  /** Keep the password so an expired or revoked token can be replaced without asking (default on). */
  remember: boolean;
  log: Logger;
}

/**
 * Sign in with username and password: mint an API token and keep it (and, with "remember me",
 * the password) in the keychain. A wrong password stores nothing.
 */
export async function signIn(i: SignInInput): Promise<string> {
  i.log.redact(i.password);
  const days = i.profile.hub.tokenLifetimeDays ?? DEFAULT_TOKEN_DAYS;
  const token = await i.hub.login(i.username, i.password, {
    expiresInSeconds: Math.round(days * 86400),
    note: `Roamlab on ${os.hostname()}`,
  });
  i.log.redact(token);
  await i.keychain.set(accountName(i.profile.id, 'token', i.username), token);
  const pw = accountName(i.profile.id, 'password', i.username);
  if (i.remember) await i.keychain.set(pw, i.password);
  else await i.keychain.delete(pw);
  i.log.info(`signed in to ${i.profile.id} as ${i.username}`);
  return token;
}

export async function signOut(profile: FacilityProfile, keychain: Keychain, username: string): Promise<void> {
  for (const kind of ['token', 'password'] as const) await keychain.delete(accountName(profile.id, kind, username));
}

/**
 * A token the hub accepts: the stored one, or — when the hub refuses it (expired, revoked) — a
 * new one minted once from the stored password. Without a stored password the person must sign in.
 */
export async function ensureToken(i: Omit<SignInInput, 'password' | 'remember'>): Promise<string> {
  const stored = await i.keychain.get(accountName(i.profile.id, 'token', i.username));
  if (stored) {
    i.log.redact(stored);
    try {
      await i.hub.whoami(stored);
      return stored;
    } catch (e) {
      if (!isRoamlabError(e, 'hub-forbidden')) throw e;
      i.log.info(`${i.profile.id}: the hub refused the stored token; minting a new one`);
    }
  }
  const password = await i.keychain.get(accountName(i.profile.id, 'password', i.username));
  if (!password) {
    throw new RoamlabError(
      'credentials-missing',
      stored ? `The hub no longer accepts the token for ${i.username} at ${i.profile.name}, and no password is stored.` : `You are not signed in to ${i.profile.name} as ${i.username}.`,
      `Sign in again (in the launcher, or with: roamlab login ${i.profile.id} --user ${i.username}).`,
    );
  }
  return signIn({ ...i, password, remember: true });
}

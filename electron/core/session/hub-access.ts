import type { Keychain } from '../keychain/keychain';
import type { Logger } from '../log';
import type { FacilityProfile } from '../profile/schema';
import { HubClient } from '../hub/hub-client';
import { openTransport } from '../transport/open';
import type { HubTransport } from '../transport/transport';
import type { SshQuestions } from '../transport/ssh-transport';
import { ensureToken } from './credentials';

export interface HubAccess extends SshQuestions {
  profile: FacilityProfile;
  keychain: Keychain;
  username: string;
  log: Logger;
  /**
   * Where the transport comes from (the launcher: its shared connection to the facility,
   * shared.ts). Default: a connection of its own, asking this access's questions.
   */
  transport?: () => Promise<HubTransport>;
}

/**
 * One short exchange with a facility's hub as a signed-in user: open the transport (SSH or
 * direct), get a token the hub accepts (ensureToken: re-minted once from the stored password
 * if refused), run `fn`, and close (or give back) the transport whatever happens.
 */
export async function withSignedInHub<T>(a: HubAccess, fn: (hub: HubClient, token: string) => Promise<T>): Promise<T> {
  const transport = await (a.transport?.() ?? openTransport(a.profile, { keychain: a.keychain, user: a.username, note: (m) => a.log.info(m), confirmUnknownHostKey: a.confirmUnknownHostKey, answerPrompts: a.answerPrompts }));
  try {
    const hub = new HubClient({ transport });
    const token = await ensureToken({ profile: a.profile, hub, keychain: a.keychain, username: a.username, log: a.log });
    return await fn(hub, token);
  } finally {
    await transport.close();
  }
}

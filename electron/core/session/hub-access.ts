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
 *
 * `fn` must be idempotent (read a list, stop a server): when it fails because a shared SSH
 * connection it reused turned out dead (lost while the computer slept, noticed only now that a
 * request waits on it), it runs once more on a new connection instead of failing.
 */
export async function withSignedInHub<T>(a: HubAccess, fn: (hub: HubClient, token: string) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const transport = await (a.transport?.() ?? openTransport(a.profile, { keychain: a.keychain, user: a.username, note: (m) => a.log.info(m), confirmUnknownHostKey: a.confirmUnknownHostKey, answerPrompts: a.answerPrompts }));
    let lost: string | undefined;
    const unsubscribe = transport.onLost?.((reason) => (lost = reason));
    try {
      const hub = new HubClient({ transport });
      const token = await ensureToken({ profile: a.profile, hub, keychain: a.keychain, username: a.username, log: a.log });
      return await fn(hub, token);
    } catch (e) {
      if (attempt > 1 || !transport.reused || lost === undefined) throw e;
      a.log.info(`${a.profile.id}: the open SSH connection was lost (${lost}); once more on a new one`);
    } finally {
      unsubscribe?.();
      await transport.close();
    }
  }
}

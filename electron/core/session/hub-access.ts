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
 * if refused), run `fn`, and close (or give back) the transport whatever happens. `fn` must be
 * idempotent (read a list, stop a server): it may run twice (onceMoreIfReusedDied).
 */
export async function withSignedInHub<T>(a: HubAccess, fn: (hub: HubClient, token: string) => Promise<T>): Promise<T> {
  const open = () =>
    a.transport?.() ?? openTransport(a.profile, { keychain: a.keychain, user: a.username, note: (m) => a.log.info(m), confirmUnknownHostKey: a.confirmUnknownHostKey, answerPrompts: a.answerPrompts });
  return onceMoreIfReusedDied(
    open,
    async (transport) => {
      try {
        const hub = new HubClient({ transport });
        const token = await ensureToken({ profile: a.profile, hub, keychain: a.keychain, username: a.username, log: a.log });
        return await fn(hub, token);
      } finally {
        await transport.close();
      }
    },
    (lost) => a.log.info(`${a.profile.id}: the open SSH connection was lost (${lost}); once more on a new one`),
  );
}

/**
 * Run `use` on a transport from `open`; when it fails because that transport was a shared SSH
 * connection found open (`reused`) which turned out dead — lost while the computer slept,
 * noticed only now that a request waits on it — run it once more on a new one instead of
 * failing. `use` must ask nothing of the hub that could not be asked twice, and close what it
 * does not keep when it fails.
 */
export async function onceMoreIfReusedDied<T>(open: () => Promise<HubTransport>, use: (t: HubTransport) => Promise<T>, again: (lost: string) => void): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const transport = await open();
    let lost: string | undefined;
    const unsubscribe = transport.onLost?.((reason) => (lost = reason));
    try {
      return await use(transport);
    } catch (e) {
      if (attempt > 1 || !transport.reused || lost === undefined) throw e;
      again(lost);
    } finally {
      unsubscribe?.();
    }
  }
}

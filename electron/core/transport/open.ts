import { hubBaseUrl, type FacilityProfile } from '../profile/schema';
import { expandHome } from '../paths';
import { accountName, type Keychain } from '../keychain/keychain';
import type { HubTransport } from './transport';
import { openDirectTransport } from './direct';
import { openSshTransport, type SshQuestions } from './ssh-transport';
import { parseProxyJump, sshRoute } from '../profile/proxy-jump';

export interface OpenTransportOptions extends SshQuestions {
  keychain: Keychain;
  onClose?: (reason: string) => void;
  /** Abort connecting (a reconnect attempt overtaken by a network change). */
  signal?: AbortSignal;
}

/** The transport the profile asks for: through its SSH gateway when it names one, else direct. */
export async function openTransport(profile: FacilityProfile, o: OpenTransportOptions): Promise<HubTransport> {
  const hubUrl = hubBaseUrl(profile);
  if (!profile.ssh) return openDirectTransport(hubUrl);
  const ssh = profile.ssh;
  const passphrase = (await o.keychain.get(accountName(profile.id, 'passphrase', ssh.user))) ?? undefined;
  return openSshTransport({
    hubUrl,
    ssh: {
      host: ssh.host,
      port: ssh.port,
      user: ssh.user,
      identityFile: expandHome(ssh.identityFile),
      knownHostsFile: expandHome(ssh.knownHostsFile),
      jumpHosts: ssh.proxyJump ? parseProxyJump(ssh.proxyJump) : [],
    },
    passphrase,
    confirmUnknownHostKey: o.confirmUnknownHostKey,
    answerPrompts: o.answerPrompts,
    onClose: o.onClose,
    signal: o.signal,
  });
}

/**
 * Where the profile's link starts: its first SSH jump host, else its SSH gateway (undefined: no
 * SSH, the hub itself). A TCP connect there answering is "the network is back".
 */
export function firstHop(profile: FacilityProfile): { host: string; port: number } | undefined {
  return profile.ssh ? sshRoute(profile.ssh)[0] : undefined;
}

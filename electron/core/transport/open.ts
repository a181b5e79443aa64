import { hubBaseUrl, type FacilityProfile } from '../profile/schema';
import { expandHome } from '../paths';
import { accountName, type Keychain } from '../keychain/keychain';
import type { HubTransport } from './transport';
import { openDirectTransport } from './direct';
import { openSshTransport, type HostKeyPrompt } from './ssh-transport';

export interface OpenTransportOptions {
  keychain: Keychain;
  /** Asked when the SSH gateway shows a host key that known_hosts does not have. */
  confirmUnknownHostKey?: (p: HostKeyPrompt) => Promise<boolean>;
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
    ssh: { ...ssh, identityFile: expandHome(ssh.identityFile), knownHostsFile: expandHome(ssh.knownHostsFile) },
    passphrase,
    confirmUnknownHostKey: o.confirmUnknownHostKey,
    onClose: o.onClose,
    signal: o.signal,
  });
}

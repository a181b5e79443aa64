import { hubBaseUrl, type FacilityProfile } from '../profile/schema';
import { expandHome } from '../paths';
import { accountName, type Keychain } from '../keychain/keychain';
import type { HubTransport } from './transport';
import { openDirectTransport } from './direct';
import { openSshTransport, type SshQuestions } from './ssh-transport';
import { describeHop, parseProxyJump, parseProxyJumpSpecs, sshRoute, type JumpHost } from '../profile/proxy-jump';
import { RoamlabError } from '../errors';
import { pickIdentityFile, sshConfigFor, type SshConfigAnswer } from './ssh-config';

export interface OpenTransportOptions extends SshQuestions {
  keychain: Keychain;
  onClose?: (reason: string) => void;
  /** Abort connecting (a reconnect attempt overtaken by a network change). */
  signal?: AbortSignal;
  /**
   * The person's user name at the facility (the hub's): their account on the SSH gateway when
   * neither the profile nor their own ssh configuration names one (resolveSshAccount).
   */
  user?: string;
  /** Told what the ssh configuration could not tell (ssh missing, a configuration ssh refuses). */
  note?: (message: string) => void;
}

/**
 * The account, key and jump hosts for the profile's gateway, and where each comes from: the
 * profile, the person's ssh configuration, or their hub user name / the default key.
 */
export interface SshAccount {
  user: string;
  identityFile: string;
  userFrom: 'profile' | 'ssh-config' | 'hub-user';
  identityFrom: 'profile' | 'ssh-config' | 'default';
  /** The jump hosts before the gateway, in order (none: straight to it). */
  jumpHosts: JumpHost[];
  jumpFrom: 'profile' | 'ssh-config' | 'none';
  /** The ProxyCommand the ssh configuration gives the gateway (when no jump hosts), which the connection runs over (proxy-command.ts). */
  proxyCommand?: string;
}

type SshConfigLookup = (host: string) => Promise<SshConfigAnswer>;

/** A first jump host's own ProxyJump is followed this deep, as ssh follows it (a loop ends here). */
const MAX_JUMP_DEPTH = 4;

/**
 * The jump hosts an ssh configuration's ProxyJump names, as ssh reaches them: each name looked up
 * in the configuration in turn (its HostName, Port and User; a port or user written in the
 * ProxyJump wins), and the first one's own ProxyJump before it. A hop without a user gets the
 * gateway's account (proxy-jump.ts), not the local login name as with ssh.
 */
async function configuredJumps(value: string, lookup: SshConfigLookup, depth = 0): Promise<JumpHost[]> {
  const hops: JumpHost[] = [];
  for (const [i, spec] of parseProxyJumpSpecs(value).entries()) {
    const c = await lookup(spec.host);
    if (i === 0 && c.proxyJump && depth < MAX_JUMP_DEPTH) hops.push(...(await configuredJumps(c.proxyJump, lookup, depth + 1)));
    const user = spec.user ?? c.user;
    hops.push({ host: c.hostName ?? spec.host, port: spec.port ?? c.port ?? 22, ...(user ? { user } : {}) });
  }
  return hops;
}

/**
 * Keys ssh would try when nothing names one (`ssh -G` lists them), of the kinds Roamlab signs
 * with; ~/.ssh/id_ed25519 first, as ever, then the older kinds people still have.
 */
const DEFAULT_IDENTITIES = ['~/.ssh/id_ed25519', '~/.ssh/id_rsa', '~/.ssh/id_ecdsa'];

/**
 * The account and key to sign in to the profile's gateway with. What the profile names wins (a
 * facility that gives every user the same account, or a profile the person wrote). What it
 * leaves out comes, as for `ssh HOST`, from the person's ssh configuration (ssh-config.ts); a
 * user name still missing is the one the person signs in to the hub with — at a facility one
 * account serves both — and a key still missing is the first of ~/.ssh/id_ed25519, id_rsa and
 * id_ecdsa that exists (as the key or its .pub), else ~/.ssh/id_ed25519 (then only an agent's
 * keys can sign, ssh-transport.ts chooseCredential).
 */
export async function resolveSshAccount(
  profile: FacilityProfile,
  user: string | undefined,
  o: { config?: SshConfigLookup; note?: (message: string) => void } = {},
): Promise<SshAccount> {
  const ssh = profile.ssh;
  if (!ssh) throw new RoamlabError('usage', `${profile.name} is reached without SSH.`, 'Nothing to do.');
  const lookup = o.config ?? sshConfigFor;
  const fromProfile = ssh.user && ssh.identityFile && ssh.proxyJump !== undefined;
  const config: SshConfigAnswer = fromProfile ? { identityFiles: [] } : await lookup(ssh.host);
  if (config.problem) o.note?.(`${profile.id}: your ssh configuration was not read (${config.problem})`);
  const route = await jumpsFor(profile, config, lookup, o.note);
  const account = ssh.user ?? config.user ?? user;
  if (!account) {
    throw new RoamlabError(
      'credentials-missing',
      `${profile.name}'s profile names no account for its SSH gateway ${ssh.host}, your ssh configuration (~/.ssh/config) has no User for it, and you have not signed in yet.`,
      `Sign in with your ${profile.name} user name first: Roamlab uses it on the gateway too. Or add "user" under "ssh" in the profile, or a User line for ${ssh.host} in ~/.ssh/config.`,
      { field: 'ssh.user', host: ssh.host },
    );
  }
  const userFrom = ssh.user ? 'profile' : config.user ? 'ssh-config' : 'hub-user';
  if (ssh.identityFile) return { user: account, identityFile: ssh.identityFile, userFrom, identityFrom: 'profile', ...route };
  const t = { user: account, host: ssh.host };
  const configured = await pickIdentityFile(config.identityFiles, t);
  if (configured) return { user: account, identityFile: configured, userFrom, identityFrom: 'ssh-config', ...route };
  return { user: account, identityFile: (await pickIdentityFile(DEFAULT_IDENTITIES, t))!, userFrom, identityFrom: 'default', ...route };
}

/**
 * The jump hosts: the profile's `ssh.proxyJump` when it has one (`none`: none, whatever the
 * configuration says), else the ProxyJump the person's ssh configuration gives the gateway —
 * at home the gateway may be in reach, on the road only through the facility's bastion, and
 * `Match` blocks in ssh_config say which (ssh -G applies them). Else the ProxyCommand the
 * configuration gives the gateway, which the connection then runs over, as ssh's does.
 */
async function jumpsFor(
  profile: FacilityProfile,
  config: SshConfigAnswer,
  lookup: SshConfigLookup,
  note: ((message: string) => void) | undefined,
): Promise<Pick<SshAccount, 'jumpHosts' | 'jumpFrom' | 'proxyCommand'>> {
  const ssh = profile.ssh!;
  if (ssh.proxyJump !== undefined) {
    const jumpHosts = parseProxyJump(ssh.proxyJump);
    return { jumpHosts, jumpFrom: jumpHosts.length ? 'profile' : 'none' };
  }
  if (config.proxyJump) {
    try {
      const jumpHosts = await configuredJumps(config.proxyJump, lookup);
      note?.(`${profile.id}: through ${jumpHosts.map(describeHop).join(', ')} to ${ssh.host}, as your ssh configuration's ProxyJump says`);
      return { jumpHosts, jumpFrom: 'ssh-config' };
    } catch (e) {
      note?.(`${profile.id}: the ProxyJump your ssh configuration gives ${ssh.host} ("${config.proxyJump}") was not understood (${(e as Error).message}); connecting to ${ssh.host} directly`);
    }
  } else if (config.proxyCommand) {
    note?.(`${profile.id}: through the ProxyCommand your ssh configuration gives ${ssh.host}`);
    return { jumpHosts: [], jumpFrom: 'none', proxyCommand: config.proxyCommand };
  }
  return { jumpHosts: [], jumpFrom: 'none' };
}

/** The transport the profile asks for: through its SSH gateway when it names one, else direct. */
export async function openTransport(profile: FacilityProfile, o: OpenTransportOptions): Promise<HubTransport> {
  const hubUrl = hubBaseUrl(profile);
  if (!profile.ssh) return openDirectTransport(hubUrl);
  const ssh = profile.ssh;
  const account = await resolveSshAccount(profile, o.user, { note: o.note });
  const passphrase = (await o.keychain.get(accountName(profile.id, 'passphrase', account.user))) ?? undefined;
  const opening = openSshTransport({
    hubUrl,
    ssh: {
      host: ssh.host,
      port: ssh.port,
      user: account.user,
      identityFile: expandHome(account.identityFile),
      knownHostsFile: expandHome(ssh.knownHostsFile),
      jumpHosts: account.jumpHosts,
      ...(account.proxyCommand ? { proxyCommand: account.proxyCommand } : {}),
    },
    passphrase,
    confirmUnknownHostKey: o.confirmUnknownHostKey,
    answerPrompts: o.answerPrompts,
    onClose: o.onClose,
    signal: o.signal,
  });
  return opening.catch((e: unknown) => {
    throw whereAccountCameFrom(e, profile, account);
  });
}

/**
 * A gateway refusing an account the profile did not name says where Roamlab took it from, and a
 * key nobody named that is not there says where Roamlab looked, so the person knows what to change.
 */
function whereAccountCameFrom(e: unknown, profile: FacilityProfile, account: SshAccount): unknown {
  if (!(e instanceof RoamlabError)) return e;
  const host = profile.ssh!.host;
  if (e.kind === 'ssh-key-unreadable' && e.details.code === 'ENOENT' && account.identityFrom === 'default') {
    return new RoamlabError(
      e.kind,
      `No SSH key for ${host}: neither the profile nor your ssh configuration names one, and none of ${DEFAULT_IDENTITIES.join(', ')} exists. ${e.message.replace(/^Cannot read the SSH key \S+ \(ENOENT\)\. ?/, '')}`.trim(),
      `Name the key you use for ${host} with an IdentityFile line in ~/.ssh/config (or "identityFile" under "ssh" in the profile); or make one with ssh-keygen -t ed25519 and register its .pub with ${profile.name}.`,
      { ...e.details, identityFrom: account.identityFrom },
      { cause: e },
    );
  }
  if (e.details.jump === true && account.jumpFrom === 'ssh-config') {
    return new RoamlabError(
      e.kind,
      `${e.message} Roamlab went through ${account.jumpHosts.map(describeHop).join(', ')} because your ssh configuration's ProxyJump for ${host} says so.`,
      `${e.kind === 'ssh-unreachable' ? 'Check the network connection, and the jump hosts\' names and ports in ~/.ssh/config.' : e.hint} To go another way, change the ProxyJump for ${host} in ~/.ssh/config, or set "proxyJump" under "ssh" in the profile ("none" for none).`,
      { ...e.details, jumpFrom: account.jumpFrom },
      { cause: e },
    );
  }
  if (e.kind !== 'ssh-auth-failed' || e.details.jump === true || account.userFrom === 'profile') return e;
  const from =
    account.userFrom === 'ssh-config'
      ? `Roamlab signed in as "${account.user}", the User your ssh configuration gives ${host}.`
      : `Roamlab signed in as "${account.user}", your ${profile.name} user name, since neither the profile nor your ssh configuration names an account for ${host}.`;
  const change = `If your account on the gateway is another, add a User line for ${host} to ~/.ssh/config, or "user" under "ssh" in the profile.`;
  return new RoamlabError(e.kind, `${e.message} ${from}`, `${e.hint} ${change}`, { ...e.details, userFrom: account.userFrom }, { cause: e });
}

/**
 * The way to the profile's gateway as a person reads it ("bastion:22 → gate:22", "ProxyCommand →
 * gate:22"), with what the ssh configuration adds where the profile leaves it out; undefined
 * without SSH. For lists: nothing is connected, and nothing fails — where the configuration
 * cannot be read, the profile's own route.
 */
export async function describeSshRoute(profile: FacilityProfile, o: { config?: SshConfigLookup } = {}): Promise<string | undefined> {
  const ssh = profile.ssh;
  if (!ssh) return undefined;
  const gateway = `${ssh.host}:${ssh.port}`;
  const lookup = o.config ?? sshConfigFor;
  let route: Pick<SshAccount, 'jumpHosts' | 'proxyCommand'>;
  try {
    const config: SshConfigAnswer = ssh.proxyJump !== undefined ? { identityFiles: [] } : await lookup(ssh.host);
    route = await jumpsFor(profile, config, lookup, undefined);
  } catch {
    route = { jumpHosts: sshRoute(ssh).slice(0, -1) };
  }
  if (route.proxyCommand) return `ProxyCommand → ${gateway}`;
  return [...route.jumpHosts.map((h) => `${h.host}:${h.port}`), gateway].join(' → ');
}

/**
 * Where the profile's link starts: its first SSH jump host, else its SSH gateway (undefined: no
 * SSH, the hub itself). A TCP connect there answering is "the network is back".
 */
export function firstHop(profile: FacilityProfile): { host: string; port: number } | undefined {
  return profile.ssh ? sshRoute(profile.ssh)[0] : undefined;
}

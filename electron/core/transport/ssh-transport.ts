import { promises as fsp } from 'node:fs';
import * as http from 'node:http';
import type * as https from 'node:https';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Duplex } from 'node:stream';
import type * as tls from 'node:tls';
import type { AgentAuthMethod, BaseAgent, Client, ClientChannel, ConnectConfig, ParsedKey, PublicKeyAuthMethod, ServerHostKeyAlgorithm } from 'ssh2';

import { RoamlabError } from '../errors';
import { loadHttps, loadSsh2, loadTls } from '../lazy-modules';
import { describeHop, type JumpHost } from '../profile/proxy-jump';
import type { HubTransport } from './transport';
import { promptAck, sendSshIgnore } from './prompt-ack';
import { honourKeepAliveHint } from './keep-alive';
import { HANDSHAKE_ROUND_TRIPS, RttEstimate, timeKeepalives, watchSilence } from './link-watch';
import { hubSecureContext, type TrustOptions } from './trust-store';
import { agentKeys, defaultAgentPath, matchingKeys, publicKeyOf, restrictedAgent } from './ssh-agent';
import { PROXY_COMMAND_FIRST_BYTE_MS, ProxyCommandStream, proxyCommandFault, runProxyCommand } from './proxy-command';
import { appendHostKey, checkHostKeyFiles, fingerprintSha256, keyTypeOfBlob, knownKeyTypes, readKnownHostsFiles, systemKnownHostsFiles, type KnownHostsText } from './known-hosts';

export interface SshOptions {
  host: string;
  port: number;
  user: string;
  identityFile: string;
  knownHostsFile: string;
  /**
   * Jump hosts before the gateway, in order (the profile's proxyJump, as `ssh -J`): the first
   * is connected to over TCP, each next one through a tunnel of the one before, the gateway
   * through the last. Each has its host key checked the same way; the same key signs in to all.
   */
  jumpHosts?: readonly JumpHost[];
  /**
   * Reach the first hop through this command instead of TCP, as ssh's ProxyCommand (tokens as
   * written; proxy-command.ts). Only from the person's own ssh configuration.
   */
  proxyCommand?: string;
}

/** One SSH server on the way to the hub: a jump host, or the gateway itself. */
interface Hop {
  host: string;
  port: number;
  user: string;
  jump: boolean;
}

/** "SSH jump host" or "SSH gateway": what messages call a hop. */
export function hopNoun(h: { jump?: boolean }): string {
  return h.jump ? 'SSH jump host' : 'SSH gateway';
}

export interface HostKeyPrompt {
  host: string;
  port: number;
  /** A jump host on the way to the gateway (the profile's proxyJump), not the gateway itself. */
  jump?: boolean;
  keyType: string;
  fingerprint: string;
  /**
   * A known_hosts line that trusts this host through a certificate authority (`@cert-authority`).
   * OpenSSH would check the host's certificate against it; Roamlab cannot yet (ssh2 does not
   * negotiate host certificates), so the person is asked about the plain key, and told why.
   */
  certAuthority?: { file: string; line: number };
}

/**
 * The server wants something a person types: keyboard-interactive prompts (a one-time code, a
 * password, as PAM asks them) or, for the "password" method, the account's password.
 */
export interface SshAuthPrompt {
  host: string;
  port: number;
  user: string;
  /** A jump host on the way to the gateway, not the gateway itself. */
  jump?: boolean;
  /** The server's own title and instructions for the prompts ('' when it gives none). */
  name: string;
  instructions: string;
  prompts: { prompt: string; echo: boolean }[];
  /** 1 at first; more when the server did not accept the previous answers. */
  attempt: number;
}

/** How many times the person is asked before the server's refusal stands (sshd allows more). */
const PROMPT_ATTEMPTS = 3;

/** What to tell a person whose known_hosts trusts the host through a certificate authority. */
export function certAuthorityNote(ca: { file: string; line: number }): string {
  return `${ca.file} (line ${ca.line}) trusts this host through a certificate authority, which OpenSSH checks but Roamlab cannot yet, so Roamlab asks about the host's own key.`;
}

/** What the SSH transport asks a person, and how (a terminal, the launcher's dialogs). */
export interface SshQuestions {
  /**
   * Called for an unknown host key; resolve true to accept (then it is written to
   * knownHostsFile). Each question gets a signal that aborts when its answer is no longer
   * wanted (the handshake failed, was cancelled, or the server closed the connection while the
   * person was asked): a dialog showing the question should close then.
   */
  confirmUnknownHostKey?: (p: HostKeyPrompt, withdrawn: AbortSignal) => Promise<boolean>;
  /**
   * Called when a server wants more than the key (AuthenticationMethods
   * publickey,keyboard-interactive: a one-time code; or a password): resolve the answers, one per
   * prompt, or null when the person declines. Never stored. Without it, only the key is offered.
   */
  answerPrompts?: (p: SshAuthPrompt, withdrawn: AbortSignal) => Promise<string[] | null>;
}

export interface OpenSshTransportOptions extends SshQuestions {
  hubUrl: URL;
  ssh: SshOptions;
  /**
   * Known-hosts files read besides the profile's own, never written (OpenSSH's
   * GlobalKnownHostsFile; default: the platform's, systemKnownHostsFiles()).
   */
  systemKnownHostsFiles?: readonly string[];
  /** Whose CAs an https hub's certificate is checked against (default: Node's and the OS's; trust-store.ts). */
  trust?: TrustOptions;
  /** for an encrypted identity file (read from the keychain by the caller) */
  passphrase?: string;
  /**
   * The SSH agent's socket (Windows: pipe), used when the key file cannot be used by itself
   * (ssh-agent.ts). Default: defaultAgentPath() (SSH_AUTH_SOCK); false: no agent.
   */
  agent?: string | false;
  /**
   * SSH keepalive every this many ms of silence (default 800): a dead link is noticed after
   * interval × (countMax + 1), 2.4 s, where OpenSSH's defaults never notice — or, on a link whose
   * round trips are slower than that allows for, after one interval plus three of its round trips
   * (link-watch.ts).
   */
  keepaliveIntervalMs?: number;
  /** Unanswered keepalives tolerated on a fast link before the connection counts as lost (default 2). */
  keepaliveCountMax?: number;
  /** default 20000: TCP connect plus each SSH handshake, not counting the time a person is asked */
  readyTimeoutMs?: number;
  /** The TCP connect alone (default 8000): a SYN unanswered that long is a network that is not there. */
  connectTimeoutMs?: number;
  /**
   * Through a ProxyCommand, the wait for its first byte (default 120000, sshd's LoginGraceTime):
   * the handshake's clock starts there, since the command may first ask the person on its own
   * terminal (a bastion's password or code, as `ssh -W` does).
   */
  proxyCommandFirstByteMs?: number;
  /** Abort connecting (e.g. the network changed: a fresh attempt is better than waiting this one out). */
  signal?: AbortSignal;
  onClose?: (reason: string) => void;
}

/**
 * AES-GCM first: it is what OpenSSH picks on AES-NI machines too, and in ssh2 it runs in one
 * OpenSSL call per packet (no separate MAC pass). chacha20 stays as the fallback for servers
 * without GCM.
 */
const CIPHERS = [
  'aes128-gcm@openssh.com',
  'aes256-gcm@openssh.com',
  'chacha20-poly1305@openssh.com',
  'aes128-ctr',
  'aes192-ctr',
  'aes256-ctr',
] as const;

/** ssh2's default host key algorithms, in its order; known types get moved to the front. */
const DEFAULT_HOSTKEY_ALGOS: ServerHostKeyAlgorithm[] = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
];

/** Host key algorithms for each key type a known_hosts line may hold. */
const HOSTKEY_ALGOS: Record<string, ServerHostKeyAlgorithm[]> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
};

export function expandHome(p: string): string {
  if (p === '~') return os.homedir();
  if (p.startsWith('~/')) return path.join(os.homedir(), p.slice(2));
  return p;
}

function hostLabel(host: string, port: number): string {
  return port === 22 ? host : `${host}:${port}`;
}

/** Read and parse (decrypt) the identity file once; ssh2 takes the parsed key as it is. */
async function loadIdentity(file: string, passphrase: string | undefined): Promise<ParsedKey> {
  const where = expandHome(file);
  let text: Buffer;
  try {
    text = await fsp.readFile(where);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw new RoamlabError(
      'ssh-key-unreadable',
      `Cannot read the SSH key ${where} (${code}).`,
      'Check the identity file named in the facility profile exists and is readable by you.',
      { file: where, code },
      { cause: e },
    );
  }
  const parsed = loadSsh2().utils.parseKey(text, passphrase);
  const key = Array.isArray(parsed) ? (parsed[0] as unknown) : parsed;
  if (key instanceof Error || !key) {
    const msg = key instanceof Error ? key.message : 'no key found';
    const encrypted = /encrypted|passphrase|bad decrypt/i.test(msg);
    throw new RoamlabError(
      'ssh-key-unreadable',
      encrypted
        ? `The SSH key ${where} is protected by a passphrase${passphrase === undefined ? ' and none was given' : ' and the one given does not open it'}.`
        : `The SSH key ${where} is not a private key Roamlab can use (${msg}).`,
      encrypted
        ? 'Enter the key passphrase again; it is kept in the system keychain.'
        : 'Use an OpenSSH private key (ed25519, ECDSA or RSA), e.g. one made by ssh-keygen.',
      { file: where, encrypted },
    );
  }
  if (!(key as ParsedKey).isPrivateKey()) {
    throw new RoamlabError(
      'ssh-key-unreadable',
      `The SSH key ${where} is a public key; its private key is not in your SSH agent.`,
      'Load the private key into your SSH agent (ssh-add, or your password manager\'s agent), or name the private key file in the facility profile.',
      { file: where, publicOnly: true },
    );
  }
  return key as ParsedKey;
}

/** How Roamlab signs in: the key file itself, or the SSH agent holding it (ssh-agent.ts). */
type Credential = { kind: 'file'; key: ParsedKey } | { kind: 'agent'; agent: BaseAgent };

/**
 * The key file when it can be used by itself (as before: no agent round trip on the way to the
 * gateway); else the agent, when it holds that key (or, with no public key to match, any key).
 * When neither works the file's own error stands, with the agent's part in it.
 */
async function chooseCredential(file: string, passphrase: string | undefined, agentPath: string | undefined): Promise<Credential> {
  try {
    return { kind: 'file', key: await loadIdentity(file, passphrase) };
  } catch (e) {
    if (!(e instanceof RoamlabError) || e.kind !== 'ssh-key-unreadable') throw e;
    const where = expandHome(file);
    const [pub, held] = agentPath ? await Promise.all([publicKeyOf(where), agentKeys(agentPath)]) : [undefined, []];
    const usable = matchingKeys(held, pub);
    if (agentPath && usable.length > 0) return { kind: 'agent', agent: restrictedAgent(agentPath, usable) };
    const agentSays = !agentPath
      ? 'No SSH agent is running (SSH_AUTH_SOCK is not set)'
      : held.length === 0
        ? `Your SSH agent (${agentPath}) holds no keys, or did not answer`
        : `Your SSH agent holds ${held.length} key(s), but not this one`;
    const encrypted = e.details.encrypted === true;
    throw new RoamlabError(
      'ssh-key-unreadable',
      `${e.message} ${agentSays}.`,
      encrypted || e.details.publicOnly === true
        ? `Load the key into your SSH agent (ssh-add ${where.replace(/\.pub$/, '')}; on macOS ssh-add --apple-use-keychain), then try again: Roamlab uses the agent as ssh does.`
        : e.hint,
      { ...e.details, agent: agentPath ?? null, agentKeys: held.length },
      { cause: e },
    );
  }
}

/**
 * TCP first, on our own socket: ssh2 leaves Nagle on, which costs ~40 ms per new channel. Also
 * the session's "is the network back?" check while it waits to reconnect.
 */
export function connectTcp(host: string, port: number, timeoutMs: number, signal?: AbortSignal, jump = false): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(cancelledConnect(host, port));
    const sock = net.connect({ host, port });
    const onAbort = () => {
      clearTimeout(timer);
      sock.destroy();
      reject(cancelledConnect(host, port));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    sock.setNoDelay(true);
    const fail = (err: Error & { code?: string }) => {
      clearTimeout(timer);
      sock.destroy();
      const code = err.code ?? 'ETIMEDOUT';
      reject(
        new RoamlabError(
          'ssh-unreachable',
          `Cannot reach the ${hopNoun({ jump })} ${hostLabel(host, port)} (${code}).`,
          `Check the network connection, and that the ${jump ? 'jump host' : 'gateway'}'s name and port in the facility profile are right. Some networks block SSH; try another network or the facility VPN.`,
          { host, port, code, ...(jump ? { jump: true } : {}) },
          { cause: err },
        ),
      );
    };
    const timer = setTimeout(() => fail(Object.assign(new Error('connect timed out'), { code: 'ETIMEDOUT' })), timeoutMs);
    sock.once('error', fail);
    sock.once('connect', () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      sock.removeListener('error', fail);
      resolve(sock);
    });
  });
}

function cancelledConnect(host: string, port: number): RoamlabError {
  return new RoamlabError('cancelled', `Connecting to ${hostLabel(host, port)} was cancelled.`, 'Nothing to do.', { host, port });
}

type SshError = Error & { level?: string; code?: string };

/** What the gateway answered to the key: the methods it still wants, and whether the key counted. */
interface AfterKey {
  methodsLeft: string[];
  keyAccepted: boolean;
}

/** "keyboard-interactive" and "password" as a person knows them. */
function describeMethods(methods: string[]): string {
  const named = methods.map((m) => (m === 'keyboard-interactive' ? 'a prompt (a one-time code or a password)' : m === 'password' ? 'a password' : m));
  return [...new Set(named)].join(' or ');
}

function mapConnectError(err: SshError, hop: Hop, identityFile: string, afterKey?: AfterKey, promptsAnswered = 0): RoamlabError {
  const { host, port, user } = hop;
  const where = hostLabel(host, port);
  const noun = hopNoun(hop);
  const jumpDetail = hop.jump ? { jump: true } : {};
  if (err.level === 'client-authentication' && promptsAnswered > 0) {
    return new RoamlabError(
      'ssh-auth-failed',
      `The ${noun} ${where} did not accept what was typed at its prompt for user "${user}"${promptsAnswered > 1 ? ` (${promptsAnswered} tries)` : ''}.`,
      'Check the one-time code (it is valid only briefly: wait for the next one) or the password, and sign in again.',
      { host, port, user, prompted: promptsAnswered, ...jumpDetail },
      { cause: err },
    );
  }
  if (err.level === 'client-authentication' && afterKey && (afterKey.keyAccepted || !afterKey.methodsLeft.includes('publickey'))) {
    // More than a key is wanted: a second step after it (AuthenticationMethods
    // publickey,keyboard-interactive: a one-time code), or another method instead of it.
    const wants = describeMethods(afterKey.methodsLeft);
    return new RoamlabError(
      'ssh-auth-failed',
      afterKey.keyAccepted
        ? `The ${noun} ${where} accepted the key for user "${user}", then asked for a second step as well: ${wants}.`
        : `The ${noun} ${where} does not take keys for user "${user}"; it asks for ${wants}.`,
      afterKey.methodsLeft.some((m) => m === 'keyboard-interactive' || m === 'password')
        ? 'Sign in from the Roamlab window or a terminal, where Roamlab can ask you for it.'
        : `Roamlab answers keys, one-time codes and passwords; this ${hop.jump ? 'jump host' : 'gateway'} wants something else. Ask the facility, or reach the hub over the facility VPN and leave "ssh" out of the profile.`,
      { host, port, user, methods: afterKey.methodsLeft.join(','), ...jumpDetail },
      { cause: err },
    );
  }
  if (err.level === 'client-authentication') {
    return new RoamlabError(
      'ssh-auth-failed',
      `The ${noun} ${where} did not accept the key for user "${user}".`,
      `Check the user name and that the public key of ${expandHome(identityFile)} is registered with the facility (authorized_keys)${hop.jump ? ' for the jump host as well as the gateway' : ''}.`,
      { host, port, user, ...jumpDetail },
      { cause: err },
    );
  }
  const timeout = err.level === 'client-timeout';
  return new RoamlabError(
    'ssh-unreachable',
    timeout
      ? `The ${noun} ${where} did not complete the handshake in time.`
      : `The SSH connection to ${where} failed: ${err.message}.`,
    `Check the network connection and try again; if it keeps failing, ask the facility whether the ${hop.jump ? 'jump host' : 'gateway'} is up.`,
    { host, port, code: err.code, level: err.level, ...jumpDetail },
    { cause: err },
  );
}

/** What the Node http machinery expects of a socket, added to an ssh2 channel. */
function asSocket(channel: ClientChannel): Duplex {
  const s = channel as ClientChannel & Record<string, unknown>;
  const noop = () => s;
  // Nagle, TCP keepalive and ref/unref belong to the one SSH TCP socket, not each channel.
  s.setKeepAlive = noop;
  s.setNoDelay = noop;
  s.ref = noop;
  s.unref = noop;
  // socket.setTimeout semantics (emit 'timeout' after ms without traffic), so request and agent
  // timeouts behave as they do on a TCP socket.
  let idleMs = 0;
  let idleTimer: NodeJS.Timeout | undefined;
  const arm = () => {
    if (idleTimer) clearTimeout(idleTimer);
    idleTimer = idleMs > 0 ? setTimeout(() => s.emit('timeout'), idleMs) : undefined;
    idleTimer?.unref();
  };
  // The 'data' listener goes on with the first timeout, not before: a listener puts the stream
  // in flowing mode, and bytes that arrive before their reader is attached would be lost (the
  // next hop's SSH banner, in the same read as the open confirmation of the tunnel to it).
  let watching = false;
  s.setTimeout = (ms: number, cb?: () => void) => {
    idleMs = ms;
    if (cb) s.once('timeout', cb);
    if (ms > 0 && !watching) {
      watching = true;
      channel.on('data', () => idleMs > 0 && arm());
    }
    arm();
    return s;
  };
  channel.once('close', () => idleTimer && clearTimeout(idleTimer));
  s.destroySoon = () => channel.destroy();
  // Without a listener, an error on a pooled (idle) channel would crash the process; in use,
  // the request's own listener sees it too and reports it as a request error.
  channel.on('error', () => undefined);
  // The hub side ended the connection: a front server (nginx, Apache, Tornado) closing an idle
  // keep-alive connection without a Keep-Alive: timeout hint, or a response delimited by close.
  // HTTP has nothing more to say on it, so close the channel, as a TCP socket without
  // allowHalfOpen ends itself. ssh2's channels are half-open: left so, an idle one stayed in
  // the agent's pool and the next request went to a socket sshd had already seen close, where it
  // got no answer and no error, ever (sshd notices a closed socket only on a later write).
  channel.on('end', () => channel.destroy());
  // A closed channel must read as not writable before the agent's 'close' handler runs: the
  // agent only drops non-writable sockets from its free pool, and ssh2 leaves a channel whose
  // peer closed it (allowHalfOpen) writable, so the next request would be sent into the void.
  channel.prependListener('close', () => {
    (channel as { writable: boolean }).writable = false;
  });
  // ssh2 silently drops writes on a channel that is no longer open (the callback never runs);
  // fail them instead, so the request sees an error rather than hanging.
  const write = channel._write.bind(channel);
  channel._write = (chunk: Buffer, encoding: BufferEncoding, cb: (err?: Error | null) => void) => {
    const state = (channel as unknown as { outgoing: { state: string } }).outgoing.state;
    if (state !== 'open') return cb(new Error('SSH channel closed'));
    write(chunk, encoding, cb);
  };
  return channel;
}

export interface ForwardTarget {
  host: string;
  port: number;
}

function openChannel(client: Client, target: ForwardTarget, cb: (err: Error | null, ch?: Duplex) => void): void {
  try {
    client.forwardOut('127.0.0.1', 0, target.host, target.port, (err, channel) => {
      if (err) return cb(forwardError(err as Error & { reason?: unknown }, target));
      cb(null, asSocket(channel));
    });
  } catch (e) {
    // forwardOut throws synchronously once the client is no longer connected.
    cb(e as Error);
  }
}

/** Why the gateway's sshd refused a channel (RFC 4254 §5.1), as the hub client reports it. */
export interface ForwardError extends Error {
  code: string;
  /** Set on every failure the SSH gateway reported: it is up, the hop behind it failed. */
  forwardRefused: 'prohibited' | 'failed';
}

const OPEN_FAILURE_CODES: [RegExp, string][] = [
  [/refused/i, 'ECONNREFUSED'],
  [/not known|no address|nodename|resolve/i, 'ENOTFOUND'],
  [/timed out/i, 'ETIMEDOUT'],
  [/no route/i, 'EHOSTUNREACH'],
  [/network is unreachable/i, 'ENETUNREACH'],
];

/**
 * ssh2 reports a refused channel as "(SSH) Channel open failure: <sshd's words>" with the
 * protocol's reason number and no code, which read as "error" to a person. Reason 1 is sshd's
 * AllowTcpForwarding / PermitOpen; otherwise sshd tried to connect to the hub and gives the
 * system's words for why it could not.
 */
export function forwardError(err: Error & { reason?: unknown }, target: ForwardTarget): ForwardError {
  const said = err.message.replace(/^\(SSH\) Channel open failure:\s*/, '').trim();
  const where = `${target.host}:${target.port}`;
  if (err.reason === 1) {
    return Object.assign(new Error(`the SSH gateway does not allow tunnels to ${where}`, { cause: err }), { code: 'SSH_FORWARD_PROHIBITED', forwardRefused: 'prohibited' as const });
  }
  const code = OPEN_FAILURE_CODES.find(([re]) => re.test(said))?.[1] ?? 'SSH_FORWARD_FAILED';
  return Object.assign(new Error(`the SSH gateway could not connect to ${where}${said ? ` (${said})` : ''}`, { cause: err }), { code, forwardRefused: 'failed' as const });
}

type ConnCallback = (err: Error | null, socket: Duplex) => void;

/** Node's createConnection callback takes (err) alone on failure. */
function deliver(cb: ConnCallback | undefined, err: Error | null, socket?: Duplex): void {
  if (!cb) return;
  if (err || !socket) (cb as (e: Error) => void)(err ?? new Error('no channel'));
  else cb(null, socket);
}

/** http.Agent whose every connection is a direct-tcpip channel over one SSH connection. */
class SshHttpAgent extends http.Agent {
  constructor(
    private readonly client: Client,
    private readonly target: ForwardTarget,
  ) {
    super({ keepAlive: true });
  }
  override createConnection(_options: http.ClientRequestArgs, cb?: ConnCallback): Duplex | null | undefined {
    openChannel(this.client, this.target, (err, ch) => deliver(cb, err, ch));
    return undefined;
  }
}

/**
 * https.Agent: the channel wrapped in TLS with the hub's own name; certificate checks stay on.
 * The class is made on first use, as https and tls are loaded then (a hub behind the gateway is
 * often plain http).
 */
let SshHttpsAgent: (new (client: Client, target: ForwardTarget, trust: TrustOptions) => https.Agent) | undefined;
function sshHttpsAgent(client: Client, target: ForwardTarget, trust: TrustOptions): https.Agent {
  SshHttpsAgent ??= class extends loadHttps().Agent {
    constructor(
      private readonly client: Client,
      private readonly target: ForwardTarget,
      trust: TrustOptions,
    ) {
      super({ keepAlive: true, secureContext: hubSecureContext(trust) });
    }
    override createConnection(options: https.RequestOptions, cb?: ConnCallback): Duplex | null | undefined {
      openChannel(this.client, this.target, (err, ch) => (err || !ch ? deliver(cb, err) : deliver(cb, null, tlsToHub(ch, options, this.target))));
      return undefined;
    }
  };
  return new SshHttpsAgent(client, target, trust);
}

/**
 * TLS to the hub over a stream that reaches its host and port (an SSH channel; another roamlab
 * process's relay of one, mux.ts), for an https.Agent's connection: the name checked is the one
 * Node took from the request's Host — the hub's, or a user's own host on a hub with
 * subdomain_host (the same proxy, reached at the hub's address).
 */
export function tlsToHub(stream: Duplex, options: https.RequestOptions, target: ForwardTarget): tls.TLSSocket {
  const name = options.servername || target.host;
  const sock = loadTls().connect({
    ...(options as tls.ConnectionOptions),
    socket: stream,
    servername: net.isIP(name) ? undefined : name,
    host: target.host,
    port: target.port,
  });
  // A TLS socket over a Duplex does not close its transport by itself.
  sock.once('close', () => stream.destroy());
  return sock;
}

/** Host (IPv6 without brackets) and port of the hub URL, the port defaulted by scheme. */
export function hubTarget(hubUrl: URL): ForwardTarget {
  const secure = hubUrl.protocol === 'https:';
  const host = hubUrl.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = hubUrl.port ? Number(hubUrl.port) : secure ? 443 : 80;
  return { host, port };
}

/** What every hop's handshake shares: the one key, the known_hosts read once, the caller's options. */
interface HandshakeContext {
  o: OpenSshTransportOptions;
  credential: Credential;
  known: KnownHostsText[];
  /** The profile's known_hosts, where an accepted key is written. */
  knownHosts: string;
  readyTimeoutMs: number;
  keepaliveIntervalMs: number;
  /** The first hop's clock starts at this stream's first output, waited for at most `timeoutMs` (a ProxyCommand's). */
  firstByte?: { output: Promise<void>; timeoutMs: number };
}

interface Handshaken {
  client: Client;
  /** Time a person was asked (a host key, a prompt): not part of the link's round trips. */
  personMs: number;
  /** The newest error ssh2 reported on this client after the handshake. */
  lastError(): SshError | undefined;
}

/**
 * The SSH handshake with one hop over `sock` (our TCP socket, or a tunnel through the hop before):
 * its host key checked against known_hosts (a person asked about an unknown one), the key offered.
 */
async function sshHandshake(hop: Hop, sock: Duplex, c: HandshakeContext): Promise<Handshaken> {
  const { host, port, user } = hop;
  const { o, known, knownHosts } = c;
  const noun = hopNoun(hop);
  // Ask for the host key types we already know first, as ssh does, so a host with several keys
  // presents the one we can check rather than one that would read as "changed".
  const hostKeyFirst = knownKeyTypes(known, host, port).flatMap((t) => HOSTKEY_ALGOS[t] ?? []);
  const client = new (loadSsh2().Client)();
  let hostKeyError: RoamlabError | undefined;
  /** Time a person was asked (a host key, a prompt): not the link's, and not the handshake's timeout. */
  let personMs = 0;
  let asking = 0;
  /** Aborted when the handshake is over: a question still open then is withdrawn. */
  const over = new AbortController();
  /** What the person is being asked now, for the error when the server closes meanwhile. */
  let askingFor = '';
  const askPerson = async <T>(what: string, ask: (withdrawn: AbortSignal) => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    asking++;
    askingFor = what;
    try {
      return await ask(over.signal);
    } finally {
      asking--;
      personMs += performance.now() - t0;
    }
  };
  const jumpDetail = hop.jump ? { jump: true } : {};

  const verifyHostKey = async (key: Buffer): Promise<boolean> => {
    const keyType = keyTypeOfBlob(key) ?? 'unknown';
    const fingerprint = fingerprintSha256(key);
    const where = hostLabel(host, port);
    const result = checkHostKeyFiles(known, host, port, keyType, key);
    const file = result.file ?? knownHosts;
    switch (result.status) {
      case 'match':
        return true;
      case 'revoked':
        hostKeyError = new RoamlabError(
          'host-key-changed',
          `The ${noun} ${where} presented a host key that is marked revoked in ${file} (${keyType} ${fingerprint}).`,
          'Do not connect. Contact the facility: this key must no longer be used.',
          { host, port, keyType, presentedFingerprint: fingerprint, revoked: true, ...jumpDetail },
        );
        return false;
      case 'changed': {
        const expected = result.expected.map((e) => `${e.type} ${e.fingerprint}`).join(', ');
        hostKeyError = new RoamlabError(
          'host-key-changed',
          `The host key of the ${noun} ${where} has changed: it presented ${keyType} ${fingerprint}, but ${file} expects ${expected}.`,
          `This can mean someone is intercepting the connection, or the facility replaced the key. Check the new fingerprint with the facility; only if they confirm it, remove the old line with: ssh-keygen -R '${port === 22 ? host : `[${host}]:${port}`}' -f ${file}${file === knownHosts ? '' : ' (as administrator: it is the system-wide file)'}`,
          {
            host,
            port,
            keyType,
            presentedFingerprint: fingerprint,
            expectedFingerprint: result.expected[0]?.fingerprint,
            expected: result.expected,
            ...jumpDetail,
          },
        );
        return false;
      }
      case 'unknown': {
        const certAuthority = result.certAuthorityLine === undefined ? undefined : { file, line: result.certAuthorityLine };
        const withCa = certAuthority ? { certAuthority } : {};
        const confirm = o.confirmUnknownHostKey;
        const accepted = confirm ? await askPerson('whether to trust its host key', (withdrawn) => confirm({ host, port, keyType, fingerprint, ...jumpDetail, ...withCa }, withdrawn)) : false;
        if (accepted) {
          await appendHostKey(knownHosts, host, port, keyType, key);
          return true;
        }
        hostKeyError = new RoamlabError(
          'host-key-unknown',
          `The ${noun} ${where} is not known yet; its ${keyType} key fingerprint is ${fingerprint}.${certAuthority ? ` ${certAuthorityNote(certAuthority)}` : ''}`,
          'Compare the fingerprint with the one the facility publishes, and accept it only if they match.',
          { host, port, keyType, presentedFingerprint: fingerprint, ...jumpDetail, ...withCa },
        );
        return false;
      }
    }
  };

  const credential = c.credential;
  const keyAuth: PublicKeyAuthMethod | AgentAuthMethod =
    credential.kind === 'file' ? { type: 'publickey', username: user, key: credential.key } : { type: 'agent', username: user, agent: credential.agent };
  let keyOffered = false;
  let afterKey: AfterKey | undefined;
  /** Times the person answered the server's prompts. */
  let promptsAnswered = 0;
  /** The person declined a prompt: the handshake ends as cancelled. */
  let declined = false;
  const answer = o.answerPrompts;
  const ask = (name: string, instructions: string, prompts: { prompt: string; echo: boolean }[]): Promise<string[] | null> =>
    askPerson('for the code or password it wants', (withdrawn) => answer!({ host, port, user, ...jumpDetail, name, instructions, prompts, attempt: promptsAnswered + 1 }, withdrawn));
  /** What the asking side said instead of answers (e.g. the CLI with no terminal to ask on). */
  let declineError: RoamlabError | undefined;
  const decline = (err?: unknown) => {
    declined = true;
    if (err instanceof RoamlabError) declineError = err;
    client.end();
  };
  const config: ConnectConfig = {
    sock: sock as ConnectConfig['sock'],
    username: user,
    keepaliveInterval: c.keepaliveIntervalMs,
    // ssh2 only sends the keepalives; when silence means a dead link is decided by the caller,
    // from the link's own round trips (link-watch.ts).
    keepaliveCountMax: Number.MAX_SAFE_INTEGER,
    // The handshake's own clock below, which stops while a person is asked: ssh2's would not.
    readyTimeout: 0,
    // The key first, from its file or from the SSH agent that holds it (chooseCredential). Going
    // straight to it skips ssh2's opening "none" attempt, one round trip. A file key is the one
    // loadIdentity parsed (and decrypted), so it is not parsed twice. Then, when the server
    // wants more (a one-time code, a password) and someone can be asked, what they type.
    tryKeyboard: false,
    authHandler: (methodsLeft, partialSuccess, next) => {
      const stop = () => (next as unknown as (no: false) => void)(false); // no more methods (ssh2 takes false; its types leave it out)
      if (!keyOffered) {
        keyOffered = true;
        return next(keyAuth);
      }
      const methods = methodsLeft ?? [];
      // What the server said to the key, for the error.
      afterKey ??= { methodsLeft: methods, keyAccepted: partialSuccess === true };
      if (!answer || declined || promptsAnswered >= PROMPT_ATTEMPTS) return stop();
      if (methods.includes('keyboard-interactive')) {
        return next({
          type: 'keyboard-interactive',
          username: user,
          // ssh2 answers a round with no prompts itself (PAM's last one often has none).
          prompt: (name, instructions, _lang, prompts, finish) => {
            ask(name, instructions, prompts.map((p) => ({ prompt: p.prompt, echo: p.echo === true }))).then(
              (answers) => {
                if (!answers) return decline();
                promptsAnswered++;
                finish(answers);
              },
              (e: unknown) => decline(e),
            );
          },
        });
      }
      if (methods.includes('password')) {
        ask('', '', [{ prompt: `Password for ${user}@${hostLabel(host, port)}:`, echo: false }]).then(
          (answers) => {
            if (!answers) return decline();
            promptsAnswered++;
            next({ type: 'password', username: user, password: answers[0] ?? '' });
          },
          (e: unknown) => decline(e),
        );
        return;
      }
      stop();
    },
    algorithms: {
      cipher: [...CIPHERS],
      compress: ['none'],
      serverHostKey: [...hostKeyFirst, ...DEFAULT_HOSTKEY_ALGOS.filter((a) => !hostKeyFirst.includes(a))],
    },
    hostVerifier: (key: Buffer, verify: (ok: boolean) => void) => {
      verifyHostKey(key).then(verify, (e: unknown) => {
        hostKeyError =
          e instanceof RoamlabError
            ? e
            : new RoamlabError(
                'host-key-unknown',
                `Could not check the host key of ${hostLabel(host, port)}: ${(e as Error).message}.`,
                `Check that ${knownHosts} is readable and writable.`,
                { host, port, ...jumpDetail },
                { cause: e },
              );
        verify(false);
      });
    },
  };

  // OpenSSH announces its host keys right after auth and ssh2 answers with a proof request. The
  // server's reply is then the newest unacknowledged segment, and sshd (Nagle on: it only sets
  // TCP_NODELAY for TTY sessions) holds the first response of the first request behind it until
  // our delayed ACK fires, ~40 ms later. Sending one packet acknowledges it at once; the packet
  // is no-more-sessions, which `ssh -N` (and `ssh -J` to its jump hosts) sends too and which
  // suits a tunnel that never opens a shell. No reply is asked for, so no new unacknowledged
  // segment follows.
  client.once('hostkeys', () => {
    try {
      (client as unknown as { openssh_noMoreSessions(): void }).openssh_noMoreSessions();
    } catch {
      // not connected any more, or a server ssh2 does not recognise as OpenSSH: nothing to speed up
    }
  });

  // ssh2 can emit more than one error for one failure (e.g. "Connection lost before handshake"
  // after a refused host key); with no listener left that would crash the process.
  let lastError: SshError | undefined;
  client.on('error', (err: SshError) => {
    lastError = err;
  });

  await new Promise<void>((resolve, reject) => {
    const failure = (err: SshError): RoamlabError => {
      if (err.level === 'cancelled') return cancelledConnect(host, port);
      if (declined) {
        return declineError ?? new RoamlabError('cancelled', `Signing in to the ${noun} ${hostLabel(host, port)} was cancelled.`, 'Sign in again when you have the code or password at hand.', { host, port, declined: true, ...jumpDetail });
      }
      // ssh2 reports a refused host key as a generic handshake error; ours says why.
      if (hostKeyError) return hostKeyError;
      // Servers give a sign-in only so long (sshd's LoginGraceTime, 2 minutes by default).
      if (asking > 0 && err.level !== 'client-authentication') {
        return new RoamlabError(
          'ssh-unreachable',
          `The ${noun} ${hostLabel(host, port)} closed the connection while Roamlab was asking you ${askingFor}.`,
          'SSH servers wait only a minute or two for a sign-in. Try again, and answer when asked.',
          { host, port, whileAsking: true, ...jumpDetail },
          { cause: err },
        );
      }
      return mapConnectError(err, hop, o.ssh.identityFile, afterKey, promptsAnswered);
    };
    // The error is made before cleanup(), which withdraws a question still open.
    const onError = (err: SshError) => {
      const e = failure(err);
      cleanup();
      client.end();
      sock.destroy();
      reject(e);
    };
    const onClose = () => {
      const e = failure(new Error('connection closed during handshake'));
      cleanup();
      reject(e);
    };
    const onReady = () => {
      cleanup();
      resolve();
    };
    const onAbort = () => onError(Object.assign(new Error('cancelled'), { level: 'cancelled' }));
    // readyTimeoutMs of the handshake's own time: while a person is asked the clock stops, and
    // through a ProxyCommand it starts at the command's first byte (the wait is the person's too).
    const startedAt = performance.now();
    let clock: NodeJS.Timeout | undefined;
    let awaitingFirstByte = false;
    let firstByteTimer: NodeJS.Timeout | undefined;
    if (c.firstByte) {
      awaitingFirstByte = true;
      firstByteTimer = setTimeout(() => onError(Object.assign(new Error('no answer through the ProxyCommand'), { level: 'client-timeout' })), c.firstByte.timeoutMs);
      void c.firstByte.output.then(() => {
        clearTimeout(firstByteTimer);
        awaitingFirstByte = false;
        personMs += performance.now() - startedAt;
      });
    }
    const tick = () => {
      const left = c.readyTimeoutMs - (performance.now() - startedAt - personMs);
      if (asking === 0 && !awaitingFirstByte && left <= 0) return onError(Object.assign(new Error('Timed out while waiting for handshake'), { level: 'client-timeout' }));
      clock = setTimeout(tick, asking > 0 || awaitingFirstByte ? 250 : left + 1);
    };
    if (c.readyTimeoutMs > 0) tick();
    const cleanup = () => {
      clearTimeout(clock);
      clearTimeout(firstByteTimer);
      client.removeListener('error', onError);
      client.removeListener('close', onClose);
      client.removeListener('ready', onReady);
      o.signal?.removeEventListener('abort', onAbort);
      over.abort();
    };
    if (o.signal?.aborted) return onAbort();
    o.signal?.addEventListener('abort', onAbort, { once: true });
    client.on('error', onError);
    client.on('close', onClose);
    client.on('ready', onReady);
    // Closed already (a ProxyCommand that exited while the key was read): ssh2 would wait for
    // a 'close' that has been and gone, until the timeout.
    if (sock.destroyed) return onClose();
    try {
      client.connect(config);
    } catch (e) {
      onError(e as SshError);
    }
  });
  lastError = undefined;

  // ssh2 counts keepalives as unanswered even while data streams in, so on a slow link a reply
  // queued behind a large download would read as a dead link. OpenSSH only probes an idle
  // link; so do we: any bytes from the server restart the keepalive clock.
  const resetKeepalive = (client as unknown as { _resetKA?: () => void })._resetKA;
  if (resetKeepalive) {
    let lastReset = 0;
    sock.on('data', () => {
      const now = Date.now();
      if (now - lastReset < 250) return;
      lastReset = now;
      resetKeepalive.call(client);
    });
  }
  return { client, personMs, lastError: () => lastError };
}

/**
 * The tunnel from a jump host to the next hop (what `ssh -J` asks its jump hosts for), as the
 * socket the next hop's handshake runs over.
 */
function tunnelThrough(jump: Client, from: Hop, to: Hop, signal: AbortSignal | undefined): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(cancelledConnect(to.host, to.port));
    openChannel(jump, { host: to.host, port: to.port }, (err, ch) => {
      if (!err && ch) return resolve(ch);
      const fe = err as Partial<ForwardError> & Error;
      const target = `the ${hopNoun(to)} ${hostLabel(to.host, to.port)}`;
      reject(
        new RoamlabError(
          'ssh-unreachable',
          fe.forwardRefused === 'prohibited'
            ? `The SSH jump host ${hostLabel(from.host, from.port)} does not allow tunnels to ${target}.`
            : `The SSH jump host ${hostLabel(from.host, from.port)} could not connect to ${target}${fe.code && fe.code !== 'SSH_FORWARD_FAILED' ? ` (${fe.code})` : ''}.`,
          fe.forwardRefused === 'prohibited'
            ? 'Ask the facility whether this jump host lets you through to the gateway, and that the profile names the gateway as they do.'
            : `Check the ${to.jump ? 'next jump host' : 'gateway'}'s name and port in the facility profile (they are looked up and reached from the jump host); if they are right, ask the facility whether it is up.`,
          { host: to.host, port: to.port, via: from.host, code: fe.code ?? null, ...(to.jump ? { jump: true } : {}) },
          { cause: err ?? undefined },
        ),
      );
    });
  });
}

/**
 * Open one SSH connection to the gateway (through the profile's jump hosts, when it names any)
 * and return a transport whose agent tunnels every hub connection through it. Host keys are
 * checked against known_hosts before authentication.
 */
export async function openSshTransport(o: OpenSshTransportOptions): Promise<HubTransport> {
  const { host, port, user, knownHostsFile } = o.ssh;
  const hops: Hop[] = [
    ...(o.ssh.jumpHosts ?? []).map((j) => ({ host: j.host, port: j.port, user: j.user ?? user, jump: true })),
    { host, port, user, jump: false },
  ];
  const first = hops[0]!;
  const knownHosts = expandHome(knownHostsFile);
  const knownHostsFiles = [knownHosts, ...(o.systemKnownHostsFiles ?? systemKnownHostsFiles())];
  const readyTimeoutMs = o.readyTimeoutMs ?? 20_000;

  // The TCP connect goes first: sshd takes ~20 ms from accept to its banner (it forks and
  // re-executes itself per connection), and this side reads the key and known_hosts and loads
  // ssh2 (~16 ms in a fresh process) meanwhile.
  const proxyCommand = o.ssh.proxyCommand;
  const connecting: Promise<Duplex> = proxyCommand
    ? runProxyCommand(proxyCommand, first, o.signal)
    : connectTcp(first.host, first.port, Math.min(readyTimeoutMs, o.connectTimeoutMs ?? 8000), o.signal, first.jump);
  connecting.catch(() => undefined); // awaited below, after the key: a bad key is the error to report
  let credential: Credential;
  let known: KnownHostsText[];
  try {
    // Read once: for the key types to ask for first and, later, to check the presented keys.
    const knownRead = readKnownHostsFiles(knownHostsFiles);
    knownRead.catch(() => undefined);
    const agentPath = o.agent === false ? undefined : (o.agent ?? defaultAgentPath());
    const identity = chooseCredential(o.ssh.identityFile, o.passphrase, agentPath);
    identity.catch(() => undefined);
    // net.connect issues its connect() on the next tick: let it (and the file reads) go out
    // before ssh2's load holds this thread.
    await new Promise((resolve) => setImmediate(resolve));
    loadSsh2();
    credential = await identity;
    known = await knownRead;
  } catch (e) {
    connecting.then((s) => s.destroy(), () => undefined);
    throw e;
  }
  const keepaliveIntervalMs = o.keepaliveIntervalMs ?? 800;
  const keepaliveCountMax = o.keepaliveCountMax ?? 2;
  const ctx: HandshakeContext = { o, credential, known, knownHosts, readyTimeoutMs, keepaliveIntervalMs };

  const tcp = await connecting;
  /** The first hop's wait for a ProxyCommand's first byte (HandshakeContext.firstByte). */
  const firstByteOf = (i: number): Pick<HandshakeContext, 'firstByte'> =>
    i === 0 && tcp instanceof ProxyCommandStream ? { firstByte: { output: tcp.firstOutput, timeoutMs: o.proxyCommandFirstByteMs ?? PROXY_COMMAND_FIRST_BYTE_MS } } : {};
  // Each hop over the socket the one before gives: TCP for the first, then a tunnel through the
  // jump host before. Jump hosts send no keepalives of their own: the gateway's, which pass
  // through them, notice a dead link anywhere on the way.
  const jumps: Handshaken[] = [];
  const socks: Duplex[] = [tcp];
  let sock: Duplex = tcp;
  /** When the gateway's handshake began: the link's round trips are timed from it (link-watch.ts). */
  let gatewayStartedAt = performance.now();
  let gateway: Handshaken;
  try {
    for (let i = 0; i < hops.length - 1; i++) {
      const jump = await sshHandshake(hops[i]!, sock, { ...ctx, keepaliveIntervalMs: 0, ...firstByteOf(i) });
      jumps.push(jump);
      sock = await tunnelThrough(jump.client, hops[i]!, hops[i + 1]!, o.signal);
      socks.push(sock);
      gatewayStartedAt = performance.now();
    }
    gateway = await sshHandshake(hops[hops.length - 1]!, sock, { ...ctx, ...firstByteOf(hops.length - 1) });
  } catch (e) {
    for (const j of jumps) j.client.end();
    const byCommand = tcp instanceof ProxyCommandStream ? await proxyCommandFault(tcp, proxyCommand!, first.host, e) : undefined;
    tcp.destroy();
    throw byCommand ?? e;
  }
  const client = gateway.client;

  // The link's round trips, from the handshake at first, then from every keepalive (link-watch.ts).
  const handshakeMs = performance.now() - gatewayStartedAt - gateway.personMs;
  const rtt = new RttEstimate(handshakeMs / HANDSHAKE_ROUND_TRIPS);
  timeKeepalives(client, (ms) => rtt.sample(ms));
  // The gateway silent for longer than this link allows: the connection is lost.
  let keepaliveTimedOut = false;
  const silence =
    keepaliveIntervalMs > 0
      ? watchSilence(sock, keepaliveIntervalMs, keepaliveCountMax, () => rtt.ms, () => {
          keepaliveTimedOut = true;
          // The TCP socket under every hop: a tunnel's own close would wait for an answer that
          // cannot come over a silent link.
          tcp.destroy();
        })
      : undefined;

  // Acknowledge each server's small packets at once, so Nagle on its side never waits for our
  // delayed ACK (see prompt-ack.ts): the gateway's, and each jump host's (its sshd relays the
  // next hop's packets to us with Nagle on too).
  const acks = [...jumps.map((j) => j.client), client].map((c, i) => promptAck(socks[i]!, () => sendSshIgnore(c)));

  let closed = false;
  let closedByUs = false;
  let lostReason: string | undefined;
  /** The first jump host whose connection ended before the gateway's (not by us). */
  let jumpLost: string | undefined;
  const lostListeners = new Set<(reason: string) => void>();
  jumps.forEach((j, i) => {
    j.client.on('close', () => {
      if (closedByUs || closed) return;
      const err = j.lastError();
      jumpLost ??= `connection to the jump host ${describeHop(hops[i]!)} lost${err ? `: ${err.message}` : ''}`;
      // The tunnels through it are gone: the gateway's connection with them.
      sock.destroy();
    });
  });
  client.on('close', () => {
    for (const a of acks) a.stop();
    silence?.stop();
    // Nothing goes through the jump hosts without the gateway's connection.
    if (jumps.length) {
      for (const j of jumps) j.client.end();
      setTimeout(() => tcp.destroy(), 2000).unref();
    }
    if (closed) return;
    closed = true;
    const lastError = gateway.lastError();
    let reason: string;
    if (closedByUs) reason = 'closed by Roamlab';
    else if (keepaliveTimedOut || lastError?.level === 'client-timeout') reason = 'the gateway stopped answering keepalives';
    else if (jumpLost) reason = jumpLost;
    else if (lastError) reason = `connection to the gateway lost: ${lastError.message}`;
    else reason = 'the gateway closed the connection';
    o.onClose?.(reason);
    if (!closedByUs) {
      lostReason = reason;
      for (const l of [...lostListeners]) l(reason);
    }
  });

  const target = hubTarget(o.hubUrl);
  const agent = o.hubUrl.protocol === 'https:' ? sshHttpsAgent(client, target, o.trust ?? {}) : new SshHttpAgent(client, target);
  honourKeepAliveHint(agent, () => rtt.ms);

  return {
    hubUrl: o.hubUrl,
    agent,
    describe: `ssh ${user}@${host}:${port}${jumps.length ? ` via ${hops.slice(0, -1).map(describeHop).join(', ')}` : ''}`,
    get rttMs() {
      return rtt.ms;
    },
    // Through a ProxyCommand, only the command knows where the link starts.
    linkStart: proxyCommand ? null : { host: first.host, port: first.port },
    forward: () => new Promise<Duplex>((resolve, reject) => openChannel(client, target, (err, ch) => (err || !ch ? reject(err ?? new Error('no channel')) : resolve(ch)))),
    onLost(listener) {
      if (lostReason !== undefined) {
        const r = lostReason;
        queueMicrotask(() => listener(r));
        return () => undefined;
      }
      lostListeners.add(listener);
      return () => lostListeners.delete(listener);
    },
    async close() {
      lostListeners.clear();
      if (closed && tcp.destroyed) return;
      closedByUs = true;
      agent.destroy();
      if (!tcp.destroyed) {
        const gone = new Promise<void>((resolve) => tcp.once('close', () => resolve()));
        // The gateway's disconnect; its 'close' above then ends each jump host's connection.
        client.end();
        // A gateway that does not answer the disconnect must not hold close() up.
        const t = setTimeout(() => tcp.destroy(), 2000);
        await gone;
        clearTimeout(t);
      }
      closed = true;
    },
  };
}

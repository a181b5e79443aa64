/**
 * A real OpenSSH sshd on loopback for tests and the benchmark: its own host key, a client key
 * in authorized_keys, a known_hosts that already trusts it. Everything lives in one temp dir.
 *
 * With { netns, listenAddress } it runs inside a network namespace (test/rig/netns.ts) instead,
 * listening on that namespace's address; known_hosts then names [listenAddress]:port.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { promises as fsp, readdirSync, readFileSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort } from './ports';

export interface RigSshd {
  /** The address sshd listens on and the client connects to (127.0.0.1 unless listenAddress). */
  host: string;
  port: number;
  user: string;
  identityFile: string;
  /** A known_hosts file that already trusts the host key. */
  knownHostsFile: string;
  hostKeyFingerprint: string;
  hostKeyFiles: string[];
  dir: string;
  /** PID of the listening sshd, while it runs. */
  readonly pid: number | undefined;
  /** The sshd log (sshd -e writes it to stderr, which goes here). */
  logFile: string;
  /** The network namespace sshd runs in (undefined: the root namespace). */
  netns: string | undefined;
  /** With StartSshdOptions.otp: the codes it takes. */
  otp: RigOtp | undefined;
  /**
   * A facility profile's `ssh` for this sshd as the gateway: its address, port, the account the
   * tests run as, the client key, the known_hosts that trusts it; `over` replaces or adds fields
   * (another known_hosts, a proxyJump).
   */
  profileSsh<T extends object = object>(over?: T): ProfileSsh & T;
  /**
   * A ProxyCommand through this sshd as the bastion, as older guides write it: the real OpenSSH
   * client, `ssh -W %h:%p`, with its own configuration off (so it does not run the ProxyCommand
   * again), signing in with `identityFile`, trusting this sshd's key only. `port`: another port
   * to dial instead of this sshd's (one where nothing listens, say).
   */
  proxyCommandThrough(identityFile: string, port?: number): string;
  stop(): Promise<void>;
  /** Stop the listener and its sessions, start it again: same port, same host key. */
  restart(): Promise<void>;
}

export interface ProfileSsh {
  host: string;
  port: number;
  user: string;
  identityFile: string;
  knownHostsFile: string;
}

export interface StartSshdOptions {
  port?: number;
  /** Run sshd inside this network namespace (`ip netns exec NS /usr/sbin/sshd ...`). */
  netns?: string;
  /**
   * The address sshd listens on and known_hosts names (default 127.0.0.1). With netns, an
   * address of that namespace, e.g. NetRig.serverIp.
   */
  listenAddress?: string;
  /**
   * Extra sshd_config lines, e.g. ['ClientAliveInterval 5', 'PermitOpen host:port']. They go
   * first, as sshd takes the first value it reads, so they also override the rig's own lines
   * ('AllowTcpForwarding no'). None by default: OpenSSH's defaults hold.
   */
  extraConfig?: string[];
  /**
   * A one-time code after the key, as facilities ask (PAM with pam_oath, TOTP, RFC 6238):
   * `AuthenticationMethods` is `methods` (default "publickey,keyboard-interactive"; with
   * "publickey,password" sshd asks PAM with the typed password). The codes come from
   * RigSshd.otp.next().
   */
  otp?: { methods?: string };
}

/** The one-time codes an `otp` sshd takes. */
export interface RigOtp {
  /** A code it has not seen yet: each is for a later 30 s step (pam_oath refuses one used before). */
  next(): string;
  /** A code it refuses. */
  wrong(): string;
}

/** HOTP (RFC 4226) of `counter`, 6 digits; TOTP is HOTP of the 30 s step (RFC 6238). */
export function hotp(secret: Buffer, counter: number): string {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const h = createHmac('sha1', secret).update(msg).digest();
  const off = h[h.length - 1]! & 0xf;
  const bin = (h.readUInt32BE(off) & 0x7fffffff) % 1_000_000;
  return String(bin).padStart(6, '0');
}

/** Direct children of a process (Linux /proc), e.g. sshd's per-connection processes. */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const ent of readdirSync('/proc')) {
    if (!/^\d+$/.test(ent)) continue;
    try {
      const stat = readFileSync(`/proc/${ent}/stat`, 'utf8');
      // Field 4 (ppid) follows the parenthesised command name, which may itself hold spaces.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(ent));
    } catch {
      // the process ended while we looked
    }
  }
  return out;
}

/** One attempt: does host:port answer with an SSH banner line (from this namespace)? */
function bannerHere(host: string, port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const s = net.connect(port, host);
    let buf = '';
    const done = (v: boolean) => {
      s.destroy();
      resolve(v);
    };
    s.setTimeout(1000, () => done(false));
    s.on('data', (d) => {
      buf += d.toString('latin1');
      if (buf.includes('\n')) done(buf.startsWith('SSH-2.0-'));
    });
    s.on('error', () => done(false));
    s.on('close', () => done(false));
  });
}

/**
 * One attempt from inside network namespace ns (bash's /dev/tcp), so that the check works while
 * the rig's faultable link is down or dropping.
 */
function bannerInNetns(ns: string, host: string, port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const script = 'exec 3<>"/dev/tcp/$1/$2" && IFS= read -r -t 1 line <&3 && printf %s "$line"';
    execFile(
      '/usr/sbin/ip',
      ['netns', 'exec', ns, '/usr/bin/timeout', '2', '/bin/bash', '-c', script, 'banner', host, String(port)],
      { timeout: 3000 },
      (err, stdout) => resolve(!err && String(stdout).startsWith('SSH-2.0-')),
    );
  });
}

/** Resolve once something on host:port sends an SSH banner line. */
async function waitForBanner(host: string, port: number, deadline: number, netns?: string): Promise<void> {
  for (;;) {
    const ok = netns === undefined ? await bannerHere(host, port) : await bannerInNetns(netns, host, port);
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`sshd on ${host}:${port} did not answer with a banner`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function blobOfPub(pubFile: string): Buffer {
  const [, b64] = readFileSync(pubFile, 'utf8').trim().split(/\s+/);
  return Buffer.from(b64!, 'base64');
}

export async function startSshd(opts: StartSshdOptions = {}): Promise<RigSshd> {
  const host = opts.listenAddress ?? '127.0.0.1';
  const { netns } = opts;
  if (netns !== undefined && opts.listenAddress === undefined) {
    throw new Error('startSshd: netns needs listenAddress (an address inside that namespace)');
  }
  await fsp.mkdir('/run/sshd', { recursive: true });
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'roamlab-sshd-'));
  const hostKey = path.join(dir, 'ssh_host_ed25519_key');
  const clientKey = path.join(dir, 'id_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'roamlab-rig-host', '-f', hostKey]);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'roamlab-rig-client', '-f', clientKey]);
  const authorizedKeys = path.join(dir, 'authorized_keys');
  await fsp.copyFile(`${clientKey}.pub`, authorizedKeys);
  await fsp.chmod(authorizedKeys, 0o600);

  // PAM for a one-time code: sshd names its PAM service after the name it runs under, so a link
  // to it with a name of its own reads /etc/pam.d/<that name> and leaves the system's sshd alone.
  let sshdBinary = '/usr/sbin/sshd';
  let pamFile: string | undefined;
  let otp: RigOtp | undefined;
  const otpConfig: string[] = [];
  if (opts.otp) {
    // Lower case: Linux-PAM lowercases the service name before it looks for the file.
    const service = `roamlab-rig-otp-${path.basename(dir).replace(/[^A-Za-z0-9]/g, '').toLowerCase()}`;
    sshdBinary = path.join(dir, service);
    await fsp.symlink('/usr/sbin/sshd', sshdBinary);
    const secret = randomBytes(20);
    const usersFile = path.join(dir, 'users.oath');
    await fsp.writeFile(usersFile, `HOTP/T30/6 ${os.userInfo().username} - ${secret.toString('hex')}\n`, { mode: 0o600 });
    pamFile = path.join('/etc/pam.d', service);
    // window=40: codes up to 40 steps ahead are taken, so a test can sign in many times in a row.
    await fsp.writeFile(pamFile, [`auth requisite pam_oath.so usersfile=${usersFile} window=40 digits=6`, 'account required pam_permit.so', 'session required pam_permit.so', 'password required pam_deny.so', ''].join('\n'));
    let step = Math.floor(Date.now() / 30_000);
    otp = {
      next: () => hotp(secret, ++step),
      wrong: () => String((Number(hotp(secret, step + 1)) + 1) % 1_000_000).padStart(6, '0'),
    };
    otpConfig.push('PermitRootLogin yes', 'UsePAM yes', 'KbdInteractiveAuthentication yes', 'PasswordAuthentication yes', `AuthenticationMethods ${opts.otp.methods ?? 'publickey,keyboard-interactive'}`);
  }

  const port = opts.port ?? (await freePort());
  const pidFile = path.join(dir, 'sshd.pid');
  const logFile = path.join(dir, 'sshd.log');
  const config = path.join(dir, 'sshd_config');
  await fsp.writeFile(
    config,
    [
      ...(opts.extraConfig ?? []),
      ...otpConfig,
      `ListenAddress ${host}`,
      `Port ${port}`,
      `HostKey ${hostKey}`,
      `PidFile ${pidFile}`,
      `AuthorizedKeysFile ${authorizedKeys}`,
      'PermitRootLogin prohibit-password',
      'StrictModes no',
      'AllowTcpForwarding yes',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'UseDNS no',
      'PrintMotd no',
      'X11Forwarding no',
      // Benchmarks open many connections at once; the default 10:30:100 would drop some.
      'MaxStartups 200',
      'MaxSessions 100',
      'LogLevel VERBOSE',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );

  const hostBlob = blobOfPub(`${hostKey}.pub`);
  const knownHostsFile = path.join(dir, 'known_hosts');
  await fsp.writeFile(knownHostsFile, `[${host}]:${port} ssh-ed25519 ${hostBlob.toString('base64')}\n`, { mode: 0o600 });
  const hostKeyFingerprint = 'SHA256:' + createHash('sha256').update(hostBlob).digest('base64').replace(/=+$/, '');

  let child: ChildProcess | undefined;
  let logFd: fsp.FileHandle | undefined;

  const launch = async () => {
    logFd = await fsp.open(logFile, 'a');
    // `ip netns exec` execs sshd after setns, so child.pid is sshd's own pid either way.
    const argv = [sshdBinary, '-D', '-e', '-f', config];
    child =
      netns === undefined
        ? spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', logFd.fd, logFd.fd] })
        : spawn('/usr/sbin/ip', ['netns', 'exec', netns, ...argv], { stdio: ['ignore', logFd.fd, logFd.fd] });
    const exited = new Promise<never>((_, reject) =>
      child!.once('exit', (code) => reject(new Error(`sshd exited early (code ${code}); see ${logFile}`))),
    );
    exited.catch(() => undefined);
    await Promise.race([waitForBanner(host, port, Date.now() + 10_000, netns), exited]);
  };

  const kill = async () => {
    const c = child;
    child = undefined;
    if (c && c.exitCode === null && c.signalCode === null && c.pid !== undefined) {
      // Per-connection sshd processes outlive the listener; end them too, by PID.
      const sessions = childPids(c.pid);
      const gone = new Promise<void>((resolve) => c.once('exit', () => resolve()));
      c.kill('SIGTERM');
      const t = setTimeout(() => c.kill('SIGKILL'), 3000);
      await gone;
      clearTimeout(t);
      for (const pid of sessions) {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          // already gone
        }
      }
    }
    await logFd?.close().catch(() => undefined);
    logFd = undefined;
  };

  await launch();

  return {
    host,
    port,
    user: os.userInfo().username,
    identityFile: clientKey,
    knownHostsFile,
    hostKeyFingerprint,
    hostKeyFiles: [hostKey],
    dir,
    logFile,
    netns,
    otp,
    get pid() {
      return child?.pid;
    },
    profileSsh<T extends object = object>(over?: T): ProfileSsh & T {
      return { host, port, user: os.userInfo().username, identityFile: clientKey, knownHostsFile, ...(over as T) };
    },
    proxyCommandThrough(identityFile: string, dial = port): string {
      const options = `-o BatchMode=yes -o IdentitiesOnly=yes -i ${identityFile} -o UserKnownHostsFile=${knownHostsFile} -o StrictHostKeyChecking=yes`;
      return `ssh -F /dev/null ${options} -p ${dial} -W %h:%p ${os.userInfo().username}@${host}`;
    },
    async stop() {
      await kill();
      if (pamFile) await fsp.rm(pamFile, { force: true });
      await fsp.rm(dir, { recursive: true, force: true });
    },
    async restart() {
      await kill();
      await launch();
    },
  };
}

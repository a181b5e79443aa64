import { execFileSync } from 'node:child_process';
import { appendFileSync, chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHub, type RigHub } from '../rig/hubs';
import { startSshd, type RigSshd } from '../rig/sshd';
import { freePort } from '../rig/ports';
import { keychainEntry, startKeyring, type RigKeyring } from '../rig/keyring';
import { makeHome, runCli } from './helpers/cli';
import { hubApi } from './helpers/hub';
import { until } from './helpers/wait';
import { sessionViews } from './helpers/events';
import type { RoamlabEvent } from '../../electron/common/ipc-contract';
import { LauncherService } from '../../electron/core/app/launcher-service';
import { OsKeychain } from '../../electron/core/keychain/os-keychain';

// A facility publishes one profile for all its users, so it names no personal SSH account (and
// maybe no key). The real `roamlab` then signs in to the real sshd as OpenSSH would for the
// person: with the User and IdentityFile their ssh configuration gives the gateway, read by the
// real ssh client (`ssh -G`, here with -F through ROAMLAB_SSH_CONFIG), else with the user name
// they sign in to the hub with. The rig's sshd takes its key for any account the machine has,
// and none for an account it does not have. The configuration's account is `nobody`, not the
// account the tests run as: ssh -G cannot tell a User that names the local login name from
// ssh's default, and Roamlab then takes the hub user name (ssh-config.ts).

let keyring: RigKeyring;
let sshd: RigSshd;
let hub: RigHub;
let dir: string;

beforeAll(async () => {
  keyring = await startKeyring();
  Object.assign(process.env, keyring.env);
  sshd = await startSshd();
  // `nobody` reads authorized_keys too (a public key; the private ones stay 0600).
  chmodSync(sshd.dir, 0o711);
  chmodSync(path.join(sshd.dir, 'authorized_keys'), 0o644);
  hub = await startHub({ flavor: 'jh3' });
  dir = mkdtempSync(path.join(os.tmpdir(), 'roamlab-sshaccount-'));
});

afterAll(async () => {
  await hub?.stop();
  await sshd?.stop();
  await keyring?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A facility whose profile's ssh names the gateway only (and `more`), and an ssh configuration for the person. */
function facility(id: string, sshConfig: string, more: object = {}): NodeJS.ProcessEnv {
  const configFile = path.join(dir, `${id}.ssh_config`);
  writeFileSync(configFile, sshConfig);
  const home = makeHome([
    {
      schema: 1,
      id,
      name: `Shared profile (${id})`,
      hub: { url: hub.url },
      ssh: { host: '127.0.0.1', port: sshd.port, knownHostsFile: sshd.knownHostsFile, ...more },
      classes: [{ id: 'small', label: 'Small', memoryGB: 2, cores: 1, userOptions: { [hub.classKey]: 'small' } }],
    },
  ]);
  return { ROAMLAB_HOME: home, ROAMLAB_SSH_CONFIG: configFile, ...keyring.env };
}

/** The ssh configuration that gives the gateway the account `nobody` and the rig's key, through an Include. */
function configGivingNobody(): string {
  const included = path.join(dir, 'facility.conf');
  writeFileSync(included, `Host 127.0.0.1\n  User nobody\n  IdentityFile ${sshd.identityFile}\n`);
  return `Include ${included}\n`;
}

describe('a profile that names no SSH account', () => {
  it("signs in with the User and IdentityFile the person's ssh configuration gives the gateway (through an Include)", async () => {
    // The hub user "alice" is no account on this machine: only the configuration's User gets in.
    expect(os.userInfo().username).not.toBe('nobody');
    const env = facility('viaconfig', configGivingNobody());
    const r = await runCli(['login', 'viaconfig', '--user', 'alice', '--password-stdin'], env, hub.password);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(await keychainEntry('viaconfig/token/alice').getPassword()).toMatch(/^[A-Za-z0-9]{20,}$/);
    const status = await runCli(['status', 'viaconfig'], env);
    expect(status.code).toBe(0);
    expect(readFileSync(sshd.logFile, 'utf8')).toMatch(/Accepted publickey for nobody from 127\.0\.0\.1/);
  });

  it('signs in to the gateway with the hub user name when the ssh configuration has no User for it', async () => {
    const env = facility('viahubuser', 'Host elsewhere.example.org\n  User someone-else\n', { identityFile: sshd.identityFile });
    const r = await runCli(['login', 'viahubuser', '--user', sshd.user, '--password-stdin'], env, hub.password);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it("signs in with an RSA key at ssh's usual place when nothing names a key and there is no id_ed25519", async () => {
    const home = mkdtempSync(path.join(dir, 'home-'));
    mkdirSync(path.join(home, '.ssh'), { mode: 0o700 });
    execFileSync('ssh-keygen', ['-q', '-t', 'rsa', '-b', '3072', '-N', '', '-C', 'old-rsa-key', '-f', path.join(home, '.ssh', 'id_rsa')]);
    appendFileSync(path.join(sshd.dir, 'authorized_keys'), readFileSync(path.join(home, '.ssh', 'id_rsa.pub')));
    const env = { ...facility('oldkey', '', { user: sshd.user }), HOME: home };
    const r = await runCli(['login', 'oldkey', '--user', 'dora', '--password-stdin'], env, hub.password);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(readFileSync(sshd.logFile, 'utf8')).toMatch(new RegExp(`Accepted publickey for ${sshd.user} from 127\\.0\\.0\\.1 port \\d+ ssh2: RSA`));
  });

  it('says where it looked, and how to name or make a key, when nothing names one and there is none', async () => {
    const home = mkdtempSync(path.join(dir, 'home-'));
    const env = { ...facility('nokey', '', { user: sshd.user }), HOME: home, SSH_AUTH_SOCK: '' };
    const r = await runCli(['login', 'nokey', '--user', 'dora', '--password-stdin'], env, hub.password);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('No SSH key for 127.0.0.1: neither the profile nor your ssh configuration names one, and none of ~/.ssh/id_ed25519, ~/.ssh/id_rsa, ~/.ssh/id_ecdsa exists.');
    expect(r.stderr).toContain('Name the key you use for 127.0.0.1 with an IdentityFile line in ~/.ssh/config');
    expect(await keychainEntry('nokey/token/dora').getPassword()).toBeNull();
  });

  it('says which account it tried and where that came from when the gateway refuses it, and stores nothing', async () => {
    const env = facility('refused', '', { identityFile: sshd.identityFile });
    const r = await runCli(['login', 'refused', '--user', 'alice', '--password-stdin'], env, hub.password);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('did not accept the key for user "alice"');
    expect(r.stderr).toContain('your Shared profile (refused) user name, since neither the profile nor your ssh configuration names an account for 127.0.0.1');
    expect(r.stderr).toContain('add a User line for 127.0.0.1 to ~/.ssh/config, or "user" under "ssh" in the profile');
    expect(await keychainEntry('refused/token/alice').getPassword()).toBeNull();
    expect(await keychainEntry('refused/password/alice').getPassword()).toBeNull();
  });
});

// Away from the facility the gateway is often only reached through its bastion, and people say so
// in ~/.ssh/config (ProxyJump, the bastion under a short name with its HostName and Port), not in
// the facility's profile. The rig's bastion lets tunnels through to the gateway's SSH port only,
// and logs each one.
describe('a profile that names no jump host', () => {
  let jump: RigSshd;
  let known: string;

  beforeAll(async () => {
    jump = await startSshd({ extraConfig: [`PermitOpen ${sshd.host}:${sshd.port}`, 'LogLevel DEBUG1'] });
    appendFileSync(path.join(jump.dir, 'authorized_keys'), readFileSync(`${sshd.identityFile}.pub`));
    known = path.join(dir, 'known_with_bastion');
    writeFileSync(known, readFileSync(sshd.knownHostsFile, 'utf8') + readFileSync(jump.knownHostsFile, 'utf8'));
  });
  afterAll(async () => {
    await jump?.stop();
  });

  const viaBastion = (port: number) => `Host 127.0.0.1\n  ProxyJump bastion\nHost bastion\n  HostName 127.0.0.1\n  Port ${port}\n`;
  const tunnels = () => readFileSync(jump.logFile, 'utf8').match(new RegExp(`direct_tcpip.*target 127\\.0\\.0\\.1 port ${sshd.port}\\b`, 'g'))?.length ?? 0;

  /** `roamlab login` then `status` for facility `id`, both succeeding; how many tunnels to the gateway the bastion carried meanwhile. */
  async function signInAndList(id: string, env: NodeJS.ProcessEnv): Promise<number> {
    const before = tunnels();
    const r = await runCli(['login', id, '--user', 'erin', '--password-stdin'], env, hub.password);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect((await runCli(['status', id], env)).code).toBe(0);
    return tunnels() - before;
  }

  it("goes through the bastion the person's ssh configuration names for the gateway (ProxyJump, and the bastion's HostName and Port)", async () => {
    const env = facility('viabastion', viaBastion(jump.port), { user: sshd.user, identityFile: sshd.identityFile, knownHostsFile: known });
    // Both commands went through the bastion to the gateway.
    expect(await signInAndList('viabastion', env)).toBe(2);
    // The lists say which way it goes: `roamlab facilities`, and the app's facility list.
    const way = `127.0.0.1:${jump.port} → 127.0.0.1:${sshd.port}`;
    expect((await runCli(['facilities'], env)).stdout).toContain(`(via ${way})`);
    process.env.ROAMLAB_SSH_CONFIG = env.ROAMLAB_SSH_CONFIG;
    try {
      const app = new LauncherService({ home: env.ROAMLAB_HOME!, keychain: new OsKeychain(), hooks: { openLab: async () => undefined } });
      expect((await app.listFacilities()).facilities).toEqual([expect.objectContaining({ id: 'viabastion', via: way })]);
      await app.dispose();
    } finally {
      delete process.env.ROAMLAB_SSH_CONFIG;
    }
  });

  it('says the way came from the ssh configuration, and how to change it, when the bastion cannot be reached; stores nothing', async () => {
    const env = facility('deadbastion', viaBastion(await freePort()), { user: sshd.user, identityFile: sshd.identityFile, knownHostsFile: known });
    const r = await runCli(['login', 'deadbastion', '--user', 'erin', '--password-stdin'], env, hub.password);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Cannot reach the SSH jump host 127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
    expect(r.stderr).toContain("because your ssh configuration's ProxyJump for 127.0.0.1 says so");
    expect(r.stderr).toContain('change the ProxyJump for 127.0.0.1 in ~/.ssh/config, or set "proxyJump" under "ssh" in the profile ("none" for none)');
    expect(await keychainEntry('deadbastion/token/erin').getPassword()).toBeNull();
  });

  // Older guides reach the gateway with `ProxyCommand ssh -W %h:%p bastion`: the real OpenSSH
  // client runs as the command, to the same bastion.
  const viaCommand = (port: number) => `Host 127.0.0.1\n  ProxyCommand ${jump.proxyCommandThrough(sshd.identityFile, port)}\n`;

  it("goes through the ProxyCommand the person's ssh configuration gives the gateway (ssh -W through the bastion)", async () => {
    const env = facility('viacommand', viaCommand(jump.port), { user: sshd.user, identityFile: sshd.identityFile });
    expect(await signInAndList('viacommand', env)).toBe(2);
    expect((await runCli(['facilities'], env)).stdout).toContain(`(via ProxyCommand → 127.0.0.1:${sshd.port})`);
  });

  it("says what the ProxyCommand said when it fails, and stores nothing", async () => {
    const dead = await freePort();
    const env = facility('deadcommand', viaCommand(dead), { user: sshd.user, identityFile: sshd.identityFile });
    const r = await runCli(['login', 'deadcommand', '--user', 'erin', '--password-stdin'], env, hub.password);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('The ProxyCommand your ssh configuration gives 127.0.0.1 (ssh …)');
    expect(r.stderr).toContain(`exited with code 255: ssh: connect to host 127.0.0.1 port ${dead}: Connection refused.`);
    expect(r.stderr).toContain('Check the network connection, and the ProxyCommand for 127.0.0.1 in ~/.ssh/config');
    expect(await keychainEntry('deadcommand/token/erin').getPassword()).toBeNull();
  });

  it('goes straight to the gateway when the profile says "proxyJump": "none", whatever the configuration says', async () => {
    const env = facility('nobastion', viaBastion(await freePort()), { user: sshd.user, identityFile: sshd.identityFile, knownHostsFile: known, proxyJump: 'none' });
    expect(await signInAndList('nobastion', env)).toBe(0);
  });
});

describe('the app, with a profile that names no SSH account', () => {
  let service: LauncherService;
  const events: RoamlabEvent[] = [];

  afterAll(async () => {
    await service?.dispose();
    await hubApi(hub, 'DELETE', 'users/carol/server').catch(() => undefined);
  });

  it("signs in, lists the servers and starts one through the account the person's ssh configuration names", async () => {
    const env = facility('app', configGivingNobody());
    const before = readFileSync(sshd.logFile, 'utf8').split('Accepted publickey for nobody').length;
    process.env.ROAMLAB_SSH_CONFIG = env.ROAMLAB_SSH_CONFIG;
    try {
      service = new LauncherService({ home: env.ROAMLAB_HOME!, keychain: new OsKeychain(), hooks: { openLab: async () => undefined } });
      service.on('event', (e) => events.push(e));
      await service.listFacilities();
      const info = await service.signIn('app', 'carol', hub.password, true);
      expect(info).toMatchObject({ username: 'carol', signedIn: true });
      expect((await service.listServers()).unreachable).toEqual([]);
      const view = service.startSession('app', 'small', '');
      const last = () => sessionViews(events, view.sessionId).at(-1);
      await until(() => last()?.state === 'ready' || last()?.state === 'ended', 120_000, 'the session ready');
      expect(last()).toMatchObject({ state: 'ready' });
      // One connection (shared) carried the sign-in, the list and the session, as nobody.
      expect(readFileSync(sshd.logFile, 'utf8').split('Accepted publickey for nobody').length - before).toBe(1);
    } finally {
      delete process.env.ROAMLAB_SSH_CONFIG;
    }
  }, 180_000);
});

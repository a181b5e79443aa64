import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { expandIdentityFile, pickIdentityFile, sshConfigFor } from '../../../electron/core/transport/ssh-config';
import { describeSshRoute, resolveSshAccount } from '../../../electron/core/transport/open';
import { parseProfile } from '../../../electron/core/profile/load';

// The person's ssh configuration as OpenSSH itself reads it (`ssh -G`, the real client): these
// run the machine's ssh, with a configuration file of the test's own (as `ssh -F` takes it).

let dir: string;
const write = (name: string, text: string) => {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
};

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'roamlab-sshconfig-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sshConfigFor (ssh -G)', () => {
  it("reads the User and IdentityFiles ssh would use for the host, through Include and wildcard Hosts, as ssh applies them", async () => {
    write('facility.conf', 'Host *.example.org\n  User jdoe\n  IdentityFile ~/.ssh/id_desy\n  IdentityFile %d/.ssh/id_%r\n');
    // An Include below a Host line belongs to that Host (as in ssh): only the first one applies here.
    const config = write('config', `Include ${path.join(dir, 'facility.conf')}\n\nHost other.example.net\n  Include ${path.join(dir, 'other.conf')}\n`);
    write('other.conf', 'User someone-else\n');
    const a = await sshConfigFor('gate.example.org', { configFile: config });
    expect(a).toEqual({ user: 'jdoe', identityFiles: ['~/.ssh/id_desy', '%d/.ssh/id_%r'] });
  });

  it('tells nothing for a host the configuration does not mention: ssh\'s own defaults are not configuration', async () => {
    const config = write('config2', 'Host other.example.net\n  User someone-else\n  IdentityFile ~/.ssh/other\n');
    expect(await sshConfigFor('gate.example.org', { configFile: config })).toEqual({ user: undefined, identityFiles: [] });
  });

  it('says why, and configures nothing, when ssh refuses the configuration or is not there', async () => {
    const broken = write('broken', 'Host gate.example.org\n  NoSuchKeyword yes\n');
    const a = await sshConfigFor('gate.example.org', { configFile: broken });
    expect(a.identityFiles).toEqual([]);
    expect(a.user).toBeUndefined();
    expect(a.problem).toMatch(/NoSuchKeyword|Bad configuration option/i);
    const none = await sshConfigFor('gate.example.org', { sshBinary: path.join(dir, 'no-ssh-here') });
    expect(none.problem).toMatch(/no .*no-ssh-here on PATH/);
  });
});

describe('identity files', () => {
  it("expands ssh's tokens and ~, and gives up on a token it cannot know", () => {
    const home = os.homedir();
    expect(expandIdentityFile('%d/.ssh/id_%r@%h', { user: 'jdoe', host: 'gate' })).toBe(`${home}/.ssh/id_jdoe@gate`);
    expect(expandIdentityFile('~/.ssh/key%%1', { user: 'jdoe', host: 'gate' })).toBe(path.join(home, '.ssh/key%1'));
    expect(expandIdentityFile('~/.ssh/id_%C', { user: 'jdoe', host: 'gate' })).toBeUndefined();
  });

  it('picks the first that exists, as the key or only its .pub (a key in an agent), else names the first', async () => {
    const a = path.join(dir, 'missing_key');
    const b = path.join(dir, 'agent_key');
    write('agent_key.pub', 'ssh-ed25519 AAAA test\n');
    expect(await pickIdentityFile([a, b], { user: 'u', host: 'h' })).toBe(b);
    expect(await pickIdentityFile([a], { user: 'u', host: 'h' })).toBe(a);
    expect(await pickIdentityFile([], { user: 'u', host: 'h' })).toBeUndefined();
  });
});

describe('resolveSshAccount', () => {
  const profile = (ssh: object) =>
    parseProfile({ schema: 1, id: 'naf', name: 'DESY NAF', hub: { url: 'http://hub.internal:8000/' }, ssh: { host: 'gate.example.org', ...ssh }, classes: [{ id: 's', label: 'S', userOptions: { profile: 's' } }] }, 'naf.json');
  const config = (user?: string, identityFiles: string[] = []) => async () => ({ user, identityFiles });

  it("takes the profile's account, key and jump hosts as they are, without asking ssh", async () => {
    const asked: string[] = [];
    const a = await resolveSshAccount(profile({ user: 'shared', identityFile: '~/.ssh/k', proxyJump: 'none' }), 'alice', {
      config: async (h) => (asked.push(h), { identityFiles: [], proxyJump: 'bastion' }),
    });
    expect(a).toEqual({ user: 'shared', identityFile: '~/.ssh/k', userFrom: 'profile', identityFrom: 'profile', jumpHosts: [], jumpFrom: 'none' });
    expect(asked).toEqual([]);
    const b = await resolveSshAccount(profile({ user: 'shared', identityFile: '~/.ssh/k', proxyJump: 'me@bastion:2222' }), 'alice', {
      config: async (h) => (asked.push(h), { identityFiles: [], proxyJump: 'elsewhere' }),
    });
    expect(b).toMatchObject({ jumpHosts: [{ host: 'bastion', port: 2222, user: 'me' }], jumpFrom: 'profile' });
    expect(asked).toEqual([]);
  });

  it("fills what the profile leaves out from the ssh configuration, then the hub user name and ssh's usual key", async () => {
    expect(await resolveSshAccount(profile({}), 'alice', { config: config('jdoe', ['~/.ssh/id_desy']) })).toEqual({
      user: 'jdoe',
      identityFile: path.join(os.homedir(), '.ssh/id_desy'),
      userFrom: 'ssh-config',
      identityFrom: 'ssh-config',
      jumpHosts: [],
      jumpFrom: 'none',
    });
    expect(await resolveSshAccount(profile({ identityFile: '~/.ssh/k' }), 'alice', { config: config() })).toMatchObject({ user: 'alice', userFrom: 'hub-user' });
    expect(await resolveSshAccount(profile({ user: 'shared' }), 'alice', { config: config() })).toMatchObject({ user: 'shared', userFrom: 'profile', identityFrom: 'default' });
  });

  it("takes ssh's usual keys in turn when nothing names one: id_ed25519, else an id_rsa or id_ecdsa that exists", async () => {
    const home = process.env.HOME;
    process.env.HOME = mkdtempSync(path.join(dir, 'home-'));
    try {
      const key = async () => (await resolveSshAccount(profile({ user: 'u' }), undefined, { config: config() })).identityFile;
      expect(await key()).toBe(path.join(process.env.HOME, '.ssh/id_ed25519'));
      mkdirSync(path.join(process.env.HOME, '.ssh'));
      writeFileSync(path.join(process.env.HOME, '.ssh/id_ecdsa'), 'key');
      expect(await key()).toBe(path.join(process.env.HOME, '.ssh/id_ecdsa'));
      writeFileSync(path.join(process.env.HOME, '.ssh/id_rsa.pub'), 'key'); // in an agent
      expect(await key()).toBe(path.join(process.env.HOME, '.ssh/id_rsa'));
      writeFileSync(path.join(process.env.HOME, '.ssh/id_ed25519'), 'key');
      expect(await key()).toBe(path.join(process.env.HOME, '.ssh/id_ed25519'));
    } finally {
      process.env.HOME = home;
    }
  });

  it('says what to do when nothing names the account yet', async () => {
    const err = await resolveSshAccount(profile({}), undefined, { config: config() }).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'credentials-missing', details: { field: 'ssh.user', host: 'gate.example.org' } });
    expect((err as Error).message).toContain('gate.example.org');
    expect((err as { hint: string }).hint).toMatch(/Sign in with your DESY NAF user name/);
  });

  it('notes a configuration ssh could not read, and goes on without it', async () => {
    const notes: string[] = [];
    const a = await resolveSshAccount(profile({}), 'alice', { config: async () => ({ identityFiles: [], problem: 'ssh -G gate.example.org: line 2: Bad configuration option' }), note: (m) => notes.push(m) });
    expect(a.user).toBe('alice');
    expect(notes).toEqual(['naf: your ssh configuration was not read (ssh -G gate.example.org: line 2: Bad configuration option)']);
  });
});

describe('jump hosts from the ssh configuration (ProxyJump)', () => {
  const profile = (ssh: object) =>
    parseProfile({ schema: 1, id: 'naf', name: 'DESY NAF', hub: { url: 'http://hub.internal:8000/' }, ssh: { host: 'gate.example.org', user: 'jdoe', identityFile: '~/.ssh/k', ...ssh }, classes: [{ id: 's', label: 'S', userOptions: { profile: 's' } }] }, 'naf.json');
  const real = (configFile: string) => ({ config: (h: string) => sshConfigFor(h, { configFile }) });

  it("goes through the jump hosts the person's ssh configuration gives the gateway, each with its own HostName, Port and User", async () => {
    const config = write(
      'jumps',
      [
        'Host gate.example.org',
        '  ProxyJump bastion,other@inner.example.org:2200',
        'Host bastion',
        '  HostName bastion.example.org',
        '  Port 2222',
        '  User bast',
        'Host inner.example.org',
        '  Port 2300',
        '',
      ].join('\n'),
    );
    const notes: string[] = [];
    const a = await resolveSshAccount(profile({}), 'alice', { ...real(config), note: (m) => notes.push(m) });
    expect(a.jumpFrom).toBe('ssh-config');
    // The port written in the ProxyJump wins over the configuration's Port, as with ssh.
    expect(a.jumpHosts).toEqual([
      { host: 'bastion.example.org', port: 2222, user: 'bast' },
      { host: 'inner.example.org', port: 2200, user: 'other' },
    ]);
    expect(notes).toEqual(["naf: through bast@bastion.example.org:2222, other@inner.example.org:2200 to gate.example.org, as your ssh configuration's ProxyJump says"]);
  });

  it("follows the first jump host's own ProxyJump, as ssh does, and stops a loop", async () => {
    const config = write('nested', 'Host gate.example.org\n  ProxyJump mid\nHost mid\n  ProxyJump outer:2022\n');
    expect((await resolveSshAccount(profile({}), 'alice', real(config))).jumpHosts).toEqual([
      { host: 'outer', port: 2022 },
      { host: 'mid', port: 22 },
    ]);
    const loop = write('loop', 'Host gate.example.org\n  ProxyJump a\nHost a\n  ProxyJump b\nHost b\n  ProxyJump a\n');
    const hops = (await resolveSshAccount(profile({}), 'alice', real(loop))).jumpHosts;
    expect(hops.length).toBeLessThanOrEqual(6);
    expect(hops.at(-1)).toEqual({ host: 'a', port: 22 });
  });

  it('takes the ProxyJump only for the host ssh gives it to, as Match and Host blocks say', async () => {
    const config = write('match', 'Match host gate.example.org !exec "false"\n  ProxyJump bastion\nHost other.example.org\n  ProxyJump elsewhere\n');
    expect((await resolveSshAccount(profile({}), 'alice', real(config))).jumpHosts).toEqual([{ host: 'bastion', port: 22 }]);
    const off = write('match-off', 'Match host gate.example.org exec "false"\n  ProxyJump bastion\n');
    expect(await resolveSshAccount(profile({}), 'alice', real(off))).toMatchObject({ jumpHosts: [], jumpFrom: 'none' });
  });

  it("takes the gateway's ProxyCommand when there is no ProxyJump, and none when the profile says \"none\"", async () => {
    const config = write('command', 'Host gate.example.org\n  ProxyCommand nc -X 5 -x socks.example.org:1080 %h %p\n');
    const notes: string[] = [];
    const a = await resolveSshAccount(profile({}), 'alice', { ...real(config), note: (m) => notes.push(m) });
    expect(a).toMatchObject({ jumpHosts: [], jumpFrom: 'none', proxyCommand: 'nc -X 5 -x socks.example.org:1080 %h %p' });
    expect(notes).toEqual(['naf: through the ProxyCommand your ssh configuration gives gate.example.org']);
    expect(await resolveSshAccount(profile({ proxyJump: 'none' }), 'alice', real(config))).toEqual(expect.not.objectContaining({ proxyCommand: expect.anything() }));
  });
});

describe('describeSshRoute (the facility lists)', () => {
  const profile = (ssh: object) =>
    parseProfile({ schema: 1, id: 'naf', name: 'DESY NAF', hub: { url: 'http://hub.internal:8000/' }, ssh: { host: 'gate.example.org', ...ssh }, classes: [{ id: 's', label: 'S', userOptions: { profile: 's' } }] }, 'naf.json');

  it("shows the way with what the ssh configuration adds, and the profile's own way when the configuration cannot be read", async () => {
    const config = write('route', 'Host gate.example.org\n  ProxyJump bastion:2222\nHost gate2.example.org\n  ProxyCommand nc %h %p\n');
    const real = { config: (h: string) => sshConfigFor(h, { configFile: config }) };
    expect(await describeSshRoute(profile({}), real)).toBe('bastion:2222 → gate.example.org:22');
    expect(await describeSshRoute(profile({ host: 'gate2.example.org' }), real)).toBe('ProxyCommand → gate2.example.org:22');
    expect(await describeSshRoute(profile({ proxyJump: 'me@hop:2200' }), real)).toBe('hop:2200 → gate.example.org:22');
    const broken = { config: async (): Promise<never> => Promise.reject(new Error('no')) };
    expect(await describeSshRoute(profile({}), broken)).toBe('gate.example.org:22');
  });
});

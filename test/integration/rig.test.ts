/**
 * The test rig itself: both real hubs start, take an admin token, spawn a classed server, report
 * 400 for an unknown class; the private Secret Service stores and returns secrets.
 */
import { execFile } from 'node:child_process';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { Entry } from '@napi-rs/keyring';
import { startHub, chrootReady, type HubFlavor, type RigHub } from '../rig/hubs';
import { startKeyring, type RigKeyring } from '../rig/keyring';
import { hubApi as api, waitServerReady as waitReady } from './helpers/hub';


const hubCases: { flavor: HubFlavor; prefix: string; major: string }[] = [
  { flavor: 'jh5', prefix: '/jhub/', major: '5.' },
  { flavor: 'jh3', prefix: '/', major: '3.' },
];

for (const c of hubCases) {
  describe(`rig hub ${c.flavor}`, () => {
    let hub: RigHub | undefined;

    const missingChroot =
      'The Debian 13 chroot for JupyterHub 5.2 is missing: run test/rig/make-chroot.sh (as root) first.';

    beforeAll(async () => {
      // A missing chroot fails every jh5 test (never skips them); see the first test's message.
      if (c.flavor === 'jh5' && !chrootReady()) return;
      hub = await startHub({ flavor: c.flavor, prefix: c.prefix });
    });

    afterAll(async () => {
      await hub?.stop();
    });

    function h(): RigHub {
      if (!hub) throw new Error(c.flavor === 'jh5' && !chrootReady() ? missingChroot : 'hub did not start');
      return hub;
    }

    if (c.flavor === 'jh5') {
      it('has the Debian 13 chroot (test/rig/make-chroot.sh)', () => {
        expect(chrootReady(), missingChroot).toBe(true);
      });
    }

    it('answers /hub/api with its version under the prefix', async () => {
      expect(h().url).toBe(`http://127.0.0.1:${h().port}${c.prefix}`);
      const res = await fetch(`${h().url}hub/api`);
      expect(res.status).toBe(200);
      const body = (await res.json()) as { version: string };
      expect(body.version.startsWith(c.major)).toBe(true);
      expect(h().version).toBe(body.version);
      expect(h().classKey).toBe(c.flavor === 'jh5' ? 'profile' : 'notebook_class');
    });

    it('spawns a classed server for a new user and proxies to it', async () => {
      const created = await api(h(), 'POST', 'users/alice');
      expect(created.status).toBe(201);
      const spawn = await api(h(), 'POST', 'users/alice/server', { [h().classKey]: 'small' });
      expect([201, 202]).toContain(spawn.status);
      const server = await waitReady(h(), 'alice');
      expect(server.user_options).toEqual({ [h().classKey]: 'small' });
      expect(server.url).toBe(`${c.prefix}user/alice/`);
      const status = await fetch(`${h().url}user/alice/api/status`, {
        headers: { Authorization: `token ${h().adminToken}` },
      });
      expect(status.status).toBe(200);
      const body = (await status.json()) as { started?: string };
      expect(typeof body.started).toBe('string');
    });

    it('rejects an unknown notebook class with a 400 JSON error', async () => {
      const res = await api(h(), 'POST', 'users/alice/servers/bad', { [h().classKey]: 'huge' });
      expect(res.status).toBe(400);
      const body = (await res.json()) as { status: number; message: string };
      expect(body.status).toBe(400);
      expect(body.message).toContain("Unknown notebook class 'huge'");
    });
  });
}

function secretTool(args: string[], env: NodeJS.ProcessEnv, input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('/usr/bin/secret-tool', args, { env, timeout: 10_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`secret-tool ${args[0]}: ${err.message} ${String(stderr)}`));
      else resolve(String(stdout));
    });
    child.stdin?.end(input ?? '');
  });
}

describe('rig keyring', () => {
  let keyring: RigKeyring | undefined;
  const saved = { bus: process.env.DBUS_SESSION_BUS_ADDRESS, runtime: process.env.XDG_RUNTIME_DIR };

  beforeAll(async () => {
    keyring = await startKeyring();
  });

  afterAll(async () => {
    if (saved.bus === undefined) delete process.env.DBUS_SESSION_BUS_ADDRESS;
    else process.env.DBUS_SESSION_BUS_ADDRESS = saved.bus;
    if (saved.runtime === undefined) delete process.env.XDG_RUNTIME_DIR;
    else process.env.XDG_RUNTIME_DIR = saved.runtime;
    await keyring?.stop();
  });

  it('stores and looks up an item with secret-tool', async () => {
    if (!keyring) throw new Error('keyring did not start');
    const env = { PATH: '/usr/bin:/bin', ...keyring.env };
    const attrs = ['service', 'roamlab-rig', 'account', 'probe'];
    await secretTool(['store', '--label=x', ...attrs], env, 'value-1');
    expect(await secretTool(['lookup', ...attrs], env)).toBe('value-1');
  });

  it('round-trips a password through @napi-rs/keyring on the private bus', () => {
    if (!keyring) throw new Error('keyring did not start');
    process.env.DBUS_SESSION_BUS_ADDRESS = keyring.env.DBUS_SESSION_BUS_ADDRESS;
    process.env.XDG_RUNTIME_DIR = keyring.env.XDG_RUNTIME_DIR;
    const entry = new Entry('roamlab-rig', 'probe', { linux: { store: 'secret-service' } });
    expect(entry.getPassword()).toBeNull();
    entry.setPassword('s3cret ✓');
    expect(new Entry('roamlab-rig', 'probe', { linux: { store: 'secret-service' } }).getPassword()).toBe('s3cret ✓');
    expect(entry.deletePassword()).toBe(true);
    expect(entry.getPassword()).toBeNull();
  });
});

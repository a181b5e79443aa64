import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startHub, type RigHub } from '../rig/hubs';
import { startNginx, type RigNginx } from '../rig/nginx';
import { makeTestCa, type TestCa } from '../rig/tls';
import { keychainEntry, startKeyring, type RigKeyring } from '../rig/keyring';
import { CliSession, makeHome, runCli } from './helpers/cli';
import { launchChromium, sixTimesSevenInClassic } from './helpers/browser';

// A facility whose hub is served over https by nginx with a certificate from the facility's own
// CA — which the institute's IT has put into the laptop's certificate store, not into Node's.
// The store here is a bundle file named by SSL_CERT_FILE, the variable OpenSSL and Roamlab read
// before the distribution's bundle (transport/trust-store.ts). Real JupyterHub (Debian 12's),
// real nginx, the CLI as a person runs it, and Chromium running a cell through the tunnel.

const ID = 'tls-facility';
const USER = 'carol';

let keyring: RigKeyring;
let hub: RigHub;
let nginx: RigNginx;
let ca: TestCa;
let dir: string;
let browser: Browser;
let home: string;
let env: NodeJS.ProcessEnv;
let store: string;

beforeAll(async () => {
  keyring = await startKeyring();
  Object.assign(process.env, keyring.env);
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'roamlab-hub-tls-'));
  ca = await makeTestCa(dir, ['localhost']);
  // The laptop's store: the distribution's bundle plus the facility's CA, as update-ca-certificates writes it.
  store = path.join(dir, 'ca-certificates.crt');
  const distro = await fsp.readFile('/etc/ssl/certs/ca-certificates.crt', 'utf8').catch(() => '');
  await fsp.writeFile(store, `${distro}\n${await fsp.readFile(ca.caFile, 'utf8')}`);
  [hub, browser] = await Promise.all([startHub({ flavor: 'jh3', prefix: '/jupyter/' }), launchChromium()]);
  nginx = await startNginx({ upstreamPort: hub.port, tls: { certFile: ca.certFile, keyFile: ca.keyFile } });
  home = makeHome([
    {
      schema: 1,
      id: ID,
      name: 'Facility with its own CA',
      hub: { url: `https://localhost:${nginx.port}${hub.prefix}` },
      classes: [{ id: 'small', label: 'Small', memoryGB: 2, cores: 1, userOptions: { [hub.classKey]: 'small' } }],
    },
  ]);
  env = { ROAMLAB_HOME: home, ...keyring.env };
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await nginx?.stop();
  await hub?.stop();
  await keyring?.stop();
  if (dir) await fsp.rm(dir, { recursive: true, force: true });
});

describe('a hub whose certificate comes from a CA in the OS store', () => {
  it('without the CA in the store: says the certificate authority is not trusted and how to fix it, stores nothing', async () => {
    const r = await runCli(['login', ID, '--user', USER, '--password-stdin'], { ...env, SSL_CERT_FILE: path.join(dir, 'missing.crt') }, hub.password);
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/signed by an authority this computer does not trust/);
    expect(r.stderr).toMatch(/certificate store/);
    expect(await keychainEntry(`${ID}/token/${USER}`).getPassword()).toBeNull();
  });

  it('with it: signs in, starts a server, and the page runs a cell — certificate checks on all the way', async () => {
    const withStore = { ...env, SSL_CERT_FILE: store };
    const login = await runCli(['login', ID, '--user', USER, '--password-stdin'], withStore, hub.password);
    expect(login.code, login.stderr).toBe(0);
    expect(await keychainEntry(`${ID}/token/${USER}`).getPassword()).toBeTruthy();
    const cli = CliSession.start(['start', ID, '--class', 'small', '--json'], withStore);
    try {
      const ready = await cli.waitFor((l) => l.event === 'state' && l.name === 'ready', 120_000);
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(ready.url as string);
      expect(await sixTimesSevenInClassic(context, page, 'hub-tls')).toBe('42');
      await context.close();
    } finally {
      cli.child.kill('SIGINT');
    }
    expect(await cli.exited).toBe(0);
    await runCli(['stop', ID], withStore);
  }, 180_000);
});

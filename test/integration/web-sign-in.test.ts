import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startHub, type RigHub } from '../rig/hubs';
import { keychainEntry, startKeyring, type RigKeyring } from '../rig/keyring';
import { LauncherService } from '../../electron/core/app/launcher-service';
import { OsKeychain } from '../../electron/core/keychain/os-keychain';
import { HubClient } from '../../electron/core/hub/hub-client';
import { openDirectTransport } from '../../electron/core/transport/direct';
import { makeHome } from './helpers/cli';
import { launchChromium } from './helpers/browser';

// Hubs whose login is a web flow (SSO, two-factor) cannot take a typed password: the app shows
// the hub's own page in an isolated browser session and mints its token with the cookies the
// hub sets. Here Chromium plays that window, in front of the real JupyterHub 5.2 (xsrf on).

let keyring: RigKeyring;
let hub: RigHub;
let browser: Browser;

beforeAll(async () => {
  keyring = await startKeyring();
  Object.assign(process.env, keyring.env);
  hub = await startHub({ flavor: 'jh5', prefix: '/sso/' });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await hub?.stop();
  await keyring?.stop();
});

function service(home: string, signInAs: string | null): LauncherService {
  return new LauncherService({
    home,
    keychain: new OsKeychain(),
    hooks: {
      openLab: () => undefined,
      webSignIn: async ({ loginUrl, cookieUrl }) => {
        const context = await browser.newContext();
        try {
          const page = await context.newPage();
          await page.goto(loginUrl);
          if (signInAs === null) return null; // the person closed the window
          await page.fill('input[name="username"]', signInAs);
          await page.fill('input[name="password"]', hub.password);
          await Promise.all([page.waitForURL((u) => !u.pathname.endsWith('/login')), page.click('input[type="submit"], button[type="submit"]')]);
          return (await context.cookies(cookieUrl)).map((c) => ({ name: c.name, value: c.value }));
        } finally {
          await context.close();
        }
      },
    },
  });
}

describe('sign-in through the hub\'s own page', () => {
  it('mints a token from the page\'s cookies and keeps only the token', async () => {
    const home = makeHome([{ schema: 1, id: 'sso', name: 'SSO hub', hub: { url: hub.url }, classes: [] }]);
    const s = service(home, 'carol');
    await s.listFacilities();
    const info = await s.signInWithWebPage('sso');
    expect(info).toMatchObject({ signedIn: true, username: 'carol', rememberPassword: false });
    const token = await keychainEntry('sso/token/carol').getPassword();
    expect(token).toMatch(/^[A-Za-z0-9]{20,}$/);
    expect(await keychainEntry('sso/password/carol').getPassword()).toBeNull();
    const transport = openDirectTransport(new URL(hub.url));
    try {
      expect((await new HubClient({ transport }).whoami(token!)).name).toBe('carol');
    } finally {
      await transport.close();
    }
  });

  it('says so when the window is closed before signing in, and stores nothing', async () => {
    const home = makeHome([{ schema: 1, id: 'sso2', name: 'SSO hub', hub: { url: hub.url }, classes: [] }]);
    const s = service(home, null);
    await s.listFacilities();
    await expect(s.signInWithWebPage('sso2')).rejects.toMatchObject({ kind: 'cancelled' });
    expect((await s.listFacilities()).facilities[0]?.signedIn).toBe(false);
  });

  it('is refused for a facility behind an SSH gateway, with what to do instead', async () => {
    const home = makeHome();
    mkdirSync(path.join(home, 'facilities'), { recursive: true });
    writeFileSync(path.join(home, 'facilities', 'gw.json'), JSON.stringify({ schema: 1, id: 'gw', name: 'Gated', hub: { url: hub.url }, ssh: { host: '127.0.0.1', user: 'x' }, classes: [] }));
    const s = service(home, 'dan');
    await s.listFacilities();
    await expect(s.signInWithWebPage('gw')).rejects.toMatchObject({ kind: 'usage', hint: 'Sign in with your username and password.' });
  });
});

/**
 * Roaming as the person sees it in the app: the launcher (Chromium, bound to the real handler
 * table), the Lab window's strip and its Lab page, over the real core through a real sshd and
 * JupyterHub 5.2 in a network namespace (test/rig/netns.ts) whose link the test takes down.
 *   - Wi-Fi lost with the OS telling (the launcher page goes offline → networkChanged): the
 *     session notices at once, both windows say so, and "online" brings it back within a second
 *     of the link, by itself.
 *   - A longer drop nobody announces: "Reconnect now" skips the wait; the person is told natively
 *     once after 5 s and once when it is back; the same notebook page runs a cell afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { RoamlabEvent } from '../../electron/common/ipc-contract';
import { LauncherService } from '../../electron/core/app/launcher-service';
import { createHandlerTable, dispatch } from '../../electron/core/ipc/handlers';
import { createStripHandlerTable, dispatchStrip, stripEventFor } from '../../electron/core/ipc/strip-handlers';
import { OsKeychain } from '../../electron/core/keychain/os-keychain';
import type { RigHub } from '../rig/hubs';
import type { RigSshd } from '../rig/sshd';
import { createNetRig, type NetRig } from '../rig/netns';
import { startKeyring, type RigKeyring } from '../rig/keyring';
import { launchChromium, screenshot, sixTimesSevenInLab } from './helpers/browser';
import { makeHome } from './helpers/cli';
import { runCellInOpenNotebook } from './helpers/lab';
import { bindBridge, bindStripBridge, collectPageProblems, ensureRendererBuilt, RENDERER_DIST, serveStatic, type StaticServer } from './helpers/launcher-page';

const USER = 'ines';
let keyring: RigKeyring;
let rig: NetRig;
let sshd: RigSshd;
let hub: RigHub;
let browser: Browser;
let site: StaticServer;
let service: LauncherService;
let launcherContext: BrowserContext;
let page: Page;
let strip: Page | undefined;
let lab: Page | undefined;
let problems: string[];
const events: RoamlabEvent[] = [];
let labOpened = 0;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const connectionEvents = () => events.filter((e): e is Extract<RoamlabEvent, { type: 'connection' }> => e.type === 'connection');

beforeAll(async () => {
  ensureRendererBuilt();
  keyring = await startKeyring();
  Object.assign(process.env, keyring.env);
  rig = await createNetRig();
  [sshd, hub, browser] = await Promise.all([rig.startSshd(), rig.startHub({ flavor: 'jh5', prefix: '/jhub/' }), launchChromium()]);
  const home = makeHome([
    {
      schema: 1,
      id: 'beam',
      name: 'Beamline',
      hub: { url: hub.url },
      ssh: sshd.profileSsh(),
      classes: [{ id: 'small', label: 'Small', memoryGB: 2, cores: 1, runtimeHours: 6, userOptions: { profile: 'small' } }],
    },
  ]);
  const stripContext = await browser.newContext({ viewport: { width: 1280, height: 30 } });
  const labContext = await browser.newContext({ viewport: { width: 1280, height: 770 } });
  service = new LauncherService({
    home,
    keychain: new OsKeychain(),
    hooks: {
      // The shell's Lab window: the strip bound to its session, and the Lab page.
      openLab: async (info) => {
        labOpened++;
        service.setLabVisible(info.sessionId, true);
        if (lab) return;
        strip = await stripContext.newPage();
        const emit = await bindStripBridge(strip, (channel, request) => dispatchStrip(stripTable, channel, request, { sessionId: info.sessionId }));
        service.on('event', (e) => {
          const se = stripEventFor(e, info.sessionId);
          if (se) emit(se);
        });
        await strip.goto(`${site.url}strip.html`);
        lab = await labContext.newPage();
        await lab.goto(info.url);
      },
    },
  });
  const stripTable = createStripHandlerTable(service, { showLauncher: () => undefined });
  service.on('event', (e) => events.push(e));
  const table = createHandlerTable(service);
  await dispatch(table, 'listFacilities', {});
  const signedIn = await dispatch(table, 'signIn', { facilityId: 'beam', username: USER, password: hub.password, remember: true });
  expect(signedIn, JSON.stringify(signedIn)).toMatchObject({ ok: true });
  site = await serveStatic(RENDERER_DIST);
  launcherContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  page = await launcherContext.newPage();
  problems = collectPageProblems(page);
  const emit = await bindBridge(page, (channel, request) => dispatch(table, channel, request));
  service.on('event', emit);
  await page.goto(site.url);
  await page.locator('html[data-ready="true"]').waitFor();
  await page.check('input[value="small"]');
  await page.locator('.class-picker button[type=submit]').click();
  await page.locator('.ready-line').waitFor({ timeout: 120_000 });
  for (let i = 0; i < 300 && !lab; i++) await sleep(100);
  expect(await sixTimesSevenInLab(lab!, 'launcher-roaming-before')).toBe('42');
}, 300_000);

afterAll(async () => {
  await service?.dispose();
  await browser?.close();
  await site?.close();
  await rig?.close();
  await keyring?.stop();
}, 90_000);

describe('roaming in the app', () => {
  it('the OS says offline: both windows say so at once; online: back at once, without waiting for the backoff', async () => {
    await rig.linkDown();
    await launcherContext.setOffline(true); // the launcher page's 'offline' event → networkChanged
    const card = page.locator('.reconnecting');
    await card.waitFor({ timeout: 5000 });
    await expect.poll(() => card.locator('.state-line').innerText()).toMatch(/Connection lost|Reconnecting/);
    await expect.poll(() => strip!.locator('.strip-state').getAttribute('data-state'), { timeout: 5000 }).toMatch(/degraded|reconnecting/);
    await sleep(2500);
    await screenshot(page, 'launcher-reconnecting');
    const up = Date.now();
    await rig.linkUp();
    await launcherContext.setOffline(false); // 'online' → the session tries at once
    await page.locator('.ready-line', { hasText: /^Back — \d+ s offline/ }).waitFor({ timeout: 10_000 });
    const back = Date.now() - up;
    expect(back).toBeLessThan(3000); // no backoff wait: the signal made it try at once
    expect(labOpened).toBe(1); // the Lab window stayed; nothing was reopened
    expect(await runCellInOpenNotebook(lab!, '6*8')).toBe('48');
  }, 90_000);

  it('a longer drop nobody announces: told once after 5 s, "Reconnect now" skips the wait, told when back', async () => {
    const before = connectionEvents().length;
    await rig.linkDown();
    const card = page.locator('.reconnecting');
    await card.waitFor({ timeout: 10_000 });
    // The backoff grows while the link is down: a "next try in" shows.
    await card.locator('.state-line', { hasText: 'next try in' }).waitFor({ timeout: 20_000 });
    await expect.poll(() => connectionEvents().slice(before).map((e) => e.notice.kind), { timeout: 15_000 }).toEqual(['lost']);
    expect(connectionEvents().at(-1)!.notice.title).toBe('Beamline: connection lost');
    // Wait (link still down) until the next try is far enough away that only the button can
    // explain a quick return.
    await expect
      .poll(() => {
        const v = service.listSessions().find((x) => x.facilityId === 'beam' && x.state !== 'ended');
        return v?.state === 'reconnecting' && (v.connection?.nextTryAt ?? 0) - Date.now() > 5000;
      }, { timeout: 40_000, interval: 100 })
      .toBe(true);
    await rig.linkUp();
    const t0 = Date.now();
    await card.getByRole('button', { name: 'Reconnect now' }).click();
    await page.locator('.ready-line', { hasText: /^Back — / }).waitFor({ timeout: 10_000 });
    expect(Date.now() - t0).toBeLessThan(3000);
    await expect.poll(() => connectionEvents().slice(before).map((e) => e.notice.kind)).toEqual(['lost', 'back']);
    expect(connectionEvents().at(-1)!.notice.body).toMatch(/^Reconnected after .+ offline/);
    expect(labOpened).toBe(1);
    expect(await runCellInOpenNotebook(lab!, '7*8')).toBe('56');
    expect(problems).toEqual([]);
  }, 120_000);
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { LauncherService } from '../../electron/core/app/launcher-service';
import { createHandlerTable, dispatch } from '../../electron/core/ipc/handlers';
import { OsKeychain } from '../../electron/core/keychain/os-keychain';
import { startHub, type RigHub } from '../rig/hubs';
import { runInKernel } from '../rig/kernel';
import { startKeyring, type RigKeyring } from '../rig/keyring';
import { launchChromium, screenshot } from './helpers/browser';
import { makeHome } from './helpers/cli';
import { bindBridge, collectPageProblems, ensureRendererBuilt, RENDERER_DIST, serveStatic, type StaticServer } from './helpers/launcher-page';

// The launcher's sessions panel over the real core and limits monitor: JupyterHub 5.2's Tiny
// class (400 MB), a kernel filling it step by step, and the row going ok → warning → critical
// with the limit's banner, in Debian's Chromium bound to the real handler table.

let keyring: RigKeyring;
let hub: RigHub;
let browser: Browser;
let site: StaticServer;
let service: LauncherService;
let context: BrowserContext;
let page: Page;
let problems: string[];
const USER = 'lena';

beforeAll(async () => {
  ensureRendererBuilt();
  keyring = await startKeyring();
  Object.assign(process.env, keyring.env);
  hub = await startHub({ flavor: 'jh5', prefix: '/jhub/', tinyRuntime: 7200 });
  const home = makeHome([
    {
      schema: 1,
      id: 'lim',
      name: 'Limits facility',
      hub: { url: hub.url },
      classes: [{ id: 'tiny', label: 'Tiny', memoryGB: 400 / 1024, cores: 1, runtimeHours: 2, userOptions: { profile: 'tiny' } }],
    },
  ]);
  browser = await launchChromium();
  service = new LauncherService({
    home,
    keychain: new OsKeychain(),
    // No Lab page is needed: the Lab "window" is visible, so the monitor samples every 5 s.
    hooks: { openLab: async (info) => service.setLabVisible(info.sessionId, true) },
  });
  const table = createHandlerTable(service);
  await dispatch(table, 'listFacilities', {});
  const signedIn = await dispatch(table, 'signIn', { facilityId: 'lim', username: USER, password: hub.password, remember: true });
  expect(signedIn, JSON.stringify(signedIn)).toMatchObject({ ok: true });
  site = await serveStatic(RENDERER_DIST);
  context = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: 'light' });
  page = await context.newPage();
  problems = collectPageProblems(page);
  const emit = await bindBridge(page, (channel, request) => dispatch(table, channel, request));
  service.on('event', emit);
}, 240_000);

afterAll(async () => {
  await fetch(`${hub?.url}hub/api/users/${USER}/server`, { method: 'DELETE', headers: { Authorization: `token ${hub?.adminToken}` } }).catch(() => undefined);
  await service?.dispose();
  await browser?.close();
  await site?.close();
  await hub?.stop();
  await keyring?.stop();
});

/** Let the kernel hold `target` of the 400 MB limit (its whole process tree counted). */
const fillTo = (target: number) =>
  [
    'import os, psutil',
    'p = psutil.Process(os.getppid())',
    'tree = [p] + p.children(recursive=True)',
    'used = sum(x.memory_info().rss for x in tree if x.is_running())',
    `need = int(${target} * 400 * 1024 * 1024) - used`,
    'if need > 0: blocks.append(b"\\x01" * need)',
  ].join('\n');

describe('the launcher shows memory, CPU and runtime of a ready session', () => {
  it('colours the row ok → warning → critical as a kernel fills the Tiny class, with the banner', async () => {
    await page.goto(site.url);
    await page.locator('html[data-ready="true"]').waitFor();
    await page.check('input[value="tiny"]');
    await page.locator('.class-picker button[type=submit]').click();
    await page.locator('.ready-line').waitFor({ timeout: 60_000 });

    const row = page.locator('tr[data-server="lim/"]');
    const details = page.locator('tr[data-limits-for="lim/"]');
    await page.locator('tr[data-server="lim/"].level-ok').waitFor({ timeout: 20_000 });
    const meter = details.locator('meter');
    await expect(meter.getAttribute('class')).resolves.toBe('level-ok');
    await expect(details.innerText()).resolves.toMatch(/Memory\s+\d+ \/ 400 MB[\s\S]*CPU [\d.]+ % of \d+ cores?/);
    // Runtime left comes from the samples (2 h class), counting down in between.
    await row.locator('.limits-runtime.level-ok', { hasText: /^(1 h 5\d|2 h 00) min left$/ }).waitFor({ timeout: 20_000 });
    // The ready card says the same.
    await expect(page.locator('section.progress .limits-memory').innerText()).resolves.toMatch(/\/ 400 MB/);

    const k = await runInKernel(hub.url, USER, hub.adminToken, 'blocks = []', '', { timeoutMs: 60_000 });
    let kernelId = k.kernelId;
    for (const [target, level] of [
      [0.86, 'warning'],
      [0.97, 'critical'],
    ] as const) {
      const r = await runInKernel(hub.url, USER, hub.adminToken, fillTo(target), '', { kernelId, timeoutMs: 60_000 });
      expect(r.status).toBe('ok');
      kernelId = r.kernelId;
      await page.locator(`tr[data-server="lim/"].level-${level}`).waitFor({ timeout: 20_000 });
      await expect(meter.getAttribute('class')).resolves.toBe(`level-${level}`);
      const banner = details.locator('.limit-banner');
      await expect(banner.getAttribute('data-level')).resolves.toBe(level);
      await expect(banner.innerText()).resolves.toMatch(/^Memory at \d+ % — Tiny class/);
      const now = Number(await meter.getAttribute('aria-valuenow'));
      expect(now).toBeGreaterThanOrEqual(level === 'warning' ? 80 : 95);
      await page.locator('.sessions').scrollIntoViewIfNeeded();
      await screenshot(page, `launcher-limits-${level}`);
    }
    await screenshot(page, 'launcher-limits');
    await page.emulateMedia({ colorScheme: 'dark' });
    await screenshot(page, 'launcher-limits-dark');
    await page.emulateMedia({ colorScheme: 'light' });

    // Critical memory offers a bigger class: the facility's class picker gets the focus.
    await details.locator('button', { hasText: 'Pick a bigger class' }).click();
    await page.waitForFunction(() => document.activeElement?.closest('.class-picker') !== null);
  }, 90_000);

  it('kept to its CSP: no violations, no page errors', () => {
    expect(problems).toEqual([]);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { RoamlabEvent, SessionView } from '../../electron/common/ipc-contract';
import { LauncherService } from '../../electron/core/app/launcher-service';
import { createHandlerTable, dispatch } from '../../electron/core/ipc/handlers';
import { createStripHandlerTable, dispatchStrip, stripEventFor } from '../../electron/core/ipc/strip-handlers';
import { OsKeychain } from '../../electron/core/keychain/os-keychain';
import { startHub, type RigHub } from '../rig/hubs';
import { runInKernel } from '../rig/kernel';
import { startKeyring, type RigKeyring } from '../rig/keyring';
import { launchChromium, screenshot } from './helpers/browser';
import { makeHome } from './helpers/cli';
import { countSpawnRequests, hubApi } from './helpers/hub';
import { bindBridge, bindStripBridge, collectPageProblems, ensureRendererBuilt, RENDERER_DIST, serveStatic, type StaticServer } from './helpers/launcher-page';
import { sessionViews } from './helpers/events';

// The launcher's sessions panel and the Lab window's status strip over the real core and limits
// monitor: JupyterHub 5.2's Tiny class (400 MB), a kernel filling it step by step, and the row
// and the strip going ok → warning → critical with the limit's banner; then "Pick a bigger
// class" switching the running Tiny server to Small. In Debian's Chromium, the launcher bound to
// the real handler table and each strip to the real strip handler table for its own session, as
// the Electron shell binds them.

let keyring: RigKeyring;
let hub: RigHub;
let browser: Browser;
let site: StaticServer;
let service: LauncherService;
let context: BrowserContext;
let page: Page;
let problems: string[];
const USER = 'lena';

/** What the shell's Lab window shows for each session: the strip (strip.html) and the Lab page below it. */
interface LabWindow {
  sessionId: string;
  strip: Page;
  lab: Page;
}
let stripContext: BrowserContext;
let labContext: BrowserContext;
const labWindows: LabWindow[] = [];
let launcherShown = 0;
const events: RoamlabEvent[] = [];
/** Height of the strip view in the Lab window (electron/shell/lab-window.ts STRIP_HEIGHT). */
const STRIP_HEIGHT = 30;

/** Spawn requests the hub has answered for USER (its own request log): one per start, never two. */
const spawnRequests = (): number => countSpawnRequests(hub, USER);

/** The user's default server as the hub reports it (admin API). */
async function hubServer(): Promise<{ ready: boolean; started: string; user_options: Record<string, unknown> } | undefined> {
  const r = await hubApi(hub, 'GET', `users/${USER}`);
  const u = (await r.json()) as { servers?: Record<string, { ready: boolean; started: string; user_options: Record<string, unknown> }> };
  return u.servers?.[''];
}

const stripProblems = new Map<string, string[]>();
const windowOf = (sessionId: string): LabWindow | undefined => labWindows.find((w) => w.sessionId === sessionId);

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
      classes: [
        { id: 'tiny', label: 'Tiny', memoryGB: 400 / 1024, cores: 1, runtimeHours: 2, userOptions: { profile: 'tiny' } },
        { id: 'small', label: 'Small', memoryGB: 2, cores: 1, userOptions: { profile: 'small' } },
      ],
    },
  ]);
  browser = await launchChromium();
  stripContext = await browser.newContext({ viewport: { width: 1280, height: STRIP_HEIGHT }, colorScheme: 'light' });
  labContext = await browser.newContext({ viewport: { width: 1280, height: 800 - STRIP_HEIGHT } });
  service = new LauncherService({
    home,
    keychain: new OsKeychain(),
    hooks: {
      // The Lab "window", as lab-window.ts builds it: the strip page bound to its own session,
      // and the Lab page. It is visible, so the monitor samples every 5 s.
      openLab: async (info) => {
        service.setLabVisible(info.sessionId, true);
        if (windowOf(info.sessionId)) return;
        const strip = await stripContext.newPage();
        stripProblems.set(info.sessionId, collectPageProblems(strip));
        const emit = await bindStripBridge(strip, (channel, request) => dispatchStrip(stripTable, channel, request, { sessionId: info.sessionId }));
        service.on('event', (e) => {
          const se = stripEventFor(e, info.sessionId);
          if (se) emit(se);
        });
        await strip.goto(`${site.url}strip.html`);
        const lab = await labContext.newPage();
        await lab.goto(info.url);
        labWindows.push({ sessionId: info.sessionId, strip, lab });
      },
    },
  });
  // The shell's showLauncher: the window forward, then (once it listens) the class picker.
  const stripTable = createStripHandlerTable(service, {
    showLauncher: (pickClassFor) => {
      launcherShown++;
      if (pickClassFor) service.requestClassPicker(pickClassFor);
    },
  });
  service.on('event', (e) => events.push(e));
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
  if (hub) await hubApi(hub, 'DELETE', `users/${USER}/server`).catch(() => undefined);
  await service?.dispose();
  await browser?.close();
  await site?.close();
  await hub?.stop();
  await keyring?.stop();
});

/** The Lab window as one picture: the strip docked above the Lab page, as the shell lays them out. */
async function labWindowShot(w: LabWindow, name: string): Promise<void> {
  const [top, bottom] = await Promise.all([w.strip.screenshot(), w.lab.screenshot()]);
  const composite = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const img = (png: Buffer) => `<img alt="" style="display:block" src="data:image/png;base64,${png.toString('base64')}">`;
  await composite.setContent(`<body style="margin:0">${img(top)}${img(bottom)}</body>`);
  await composite.waitForFunction(() => [...document.images].every((i) => i.complete));
  await screenshot(composite, name);
  await composite.close();
}

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

async function waitFor<T>(what: string, f: () => T | undefined, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('the launcher and the Lab window strip show memory, CPU and runtime of a ready session', () => {
  it('colours the row and the strip ok → warning → critical as a kernel fills the Tiny class, with the banner', async () => {
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

    // The Lab window's strip, bound to its own session: the same numbers, the same colours.
    const w = await waitFor('the Lab window', () => labWindows[0], 60_000);
    const strip = w.strip.locator('.strip');
    await w.strip.locator('.strip-memory.level-ok').waitFor({ timeout: 20_000 });
    await expect(strip.innerText()).resolves.toMatch(/^Tiny · Limits facility\s+Memory\s+\d+ \/ 400 MB\s+\d+ %\s+CPU [\d.]+ % of \d+ cores?\s+(1 h 5\d|2 h 00) min left\s+Launcher$/);
    await expect(strip.getAttribute('data-level')).resolves.toBe('ok');
    await expect(strip.getAttribute('data-state')).resolves.toBe('ready');
    await expect(w.strip.locator('.strip meter').getAttribute('class')).resolves.toBe('level-ok');
    await expect(w.strip.locator('.strip-runtime').getAttribute('data-level')).resolves.toBe('ok');
    await expect(w.strip.locator('.strip-state').count()).resolves.toBe(0);
    await w.lab.locator('.jp-LabShell, #main').first().waitFor({ timeout: 60_000 });
    await labWindowShot(w, 'lab-window-strip-ok');

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

      // The strip turns the same colour at the same threshold, and says what was crossed.
      await w.strip.locator(`.strip-memory.level-${level}`).waitFor({ timeout: 20_000 });
      await expect(strip.getAttribute('data-level')).resolves.toBe(level);
      await expect(w.strip.locator('.strip meter').getAttribute('class')).resolves.toBe(`level-${level}`);
      const stripPercent = Number(await w.strip.locator('.strip meter').getAttribute('aria-valuenow'));
      expect(stripPercent).toBeGreaterThanOrEqual(level === 'warning' ? 80 : 95);
      await expect(w.strip.locator('.strip-limit').getAttribute('data-level')).resolves.toBe(level);
      await expect(w.strip.locator('.strip-limit').innerText()).resolves.toMatch(/^Memory at \d+ % — Tiny class$/);
      await expect(w.strip.locator('button', { hasText: 'Pick a bigger class' }).count()).resolves.toBe(level === 'critical' ? 1 : 0);
      await labWindowShot(w, `lab-window-strip-${level}`);
    }
    await w.strip.emulateMedia({ colorScheme: 'dark' });
    await labWindowShot(w, 'lab-window-strip-critical-dark');
    await w.strip.emulateMedia({ colorScheme: 'light' });

    // "Pick a bigger class" in the strip: the launcher comes forward on this facility's class picker.
    await w.strip.locator('button', { hasText: 'Pick a bigger class' }).click();
    await waitFor('the launcher to be shown', () => (launcherShown === 1 ? true : undefined), 10_000);
    await page.waitForFunction(() => document.activeElement?.closest('.class-picker') !== null);
    expect(events.filter((e) => e.type === 'pick-class')).toEqual([{ type: 'pick-class', facilityId: 'lim' }]);
    await page.locator('.topbar').click(); // the focus leaves the picker again
    await screenshot(page, 'launcher-limits');
    await page.emulateMedia({ colorScheme: 'dark' });
    await screenshot(page, 'launcher-limits-dark');
    await page.emulateMedia({ colorScheme: 'light' });

    // Critical memory offers a bigger class: the facility's class picker gets the focus.
    await details.locator('button', { hasText: 'Pick a bigger class' }).click();
    await page.waitForFunction(() => document.activeElement?.closest('.class-picker') !== null);
  }, 90_000);

  it('switches the running Tiny server to Small: asks first (Cancel leaves all as it was), then stops it and starts Small with one spawn request', async () => {
    const [before] = service.listSessions();
    expect(before).toMatchObject({ classId: 'tiny', state: 'ready' });
    const tinyServer = await hubServer();
    expect(tinyServer).toMatchObject({ ready: true, user_options: { profile: 'tiny' } });
    const spawnsBefore = spawnRequests();
    expect(spawnsBefore).toBe(1);

    const submit = page.locator('.class-picker button[type=submit]');
    // The class of the open session: nothing to start.
    await expect(submit.innerText()).resolves.toBe('Session open');
    await expect(submit.isDisabled()).resolves.toBe(true);
    await expect(page.locator('.running-note').innerText()).resolves.toBe('Your Tiny server is running and open. Pick another class to switch to it.');
    await page.check('input[value="small"]');
    await expect(submit.innerText()).resolves.toBe('Switch to Small');

    // Asked first; Cancel (and Escape) leave everything as it was.
    await submit.click();
    const dialog = page.locator('dialog[open]');
    await dialog.waitFor();
    await expect(dialog.innerText()).resolves.toMatch(
      /^Switch to the Small class\?\s+This stops your Tiny server at Limits facility, then starts a Small server\.\s+Unsaved work in open notebooks is lost; save it first\./,
    );
    await screenshot(page, 'launcher-switch-confirm');
    await dialog.locator('button', { hasText: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
    await submit.click();
    await dialog.waitFor();
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    await new Promise((r) => setTimeout(r, 1_000));
    expect(service.listSessions()).toEqual([expect.objectContaining({ sessionId: before!.sessionId, classId: 'tiny', state: 'ready' })]);
    await expect(hubServer()).resolves.toMatchObject({ ready: true, started: tinyServer!.started, user_options: { profile: 'tiny' } });
    expect(spawnRequests()).toBe(spawnsBefore);
    expect(events.some((e) => e.type === 'session' && e.session.sessionId !== before!.sessionId)).toBe(false);
    await expect(submit.innerText()).resolves.toBe('Switch to Small');

    // Confirmed: Tiny stops (its session ends, its strip says so), then Small starts, with progress.
    await submit.click();
    await page.locator('dialog[open] button', { hasText: 'Stop and switch' }).click();
    // Progress: first the stop (the hub takes a second or more to end a server), then the start.
    await page.locator('section.progress .state-line', { hasText: 'Stopping your Tiny server' }).waitFor({ timeout: 10_000 });
    await expect(submit.innerText()).resolves.toBe('Switching…');
    await expect(submit.isDisabled()).resolves.toBe(true);
    await screenshot(page, 'launcher-switch-stopping');
    await page.locator('.ready-line').waitFor({ timeout: 120_000 });
    const after = service.listSessions();
    expect(after).toEqual([expect.objectContaining({ classId: 'small', state: 'ready' })]);
    const next = after[0]!;
    await expect(hubServer()).resolves.toMatchObject({ ready: true, user_options: { profile: 'small' } });
    expect(spawnRequests()).toBe(spawnsBefore + 1);

    // The new session's path, as the launcher saw it: stopping Tiny first, then the usual start.
    const views = sessionViews(events, next.sessionId);
    const steps = views.map((v: SessionView) => (v.replacing ? `stopping ${v.replacing}` : v.state)).filter((x, i, a) => x !== a[i - 1]);
    expect(steps).toEqual(['stopping Tiny', 'signed-out', 'authenticating', 'spawning', 'connecting', 'ready']);
    // The old session ended before the new one asked the hub for anything.
    const oldEnd = events.findIndex((e) => e.type === 'session' && e.session.sessionId === before!.sessionId && e.session.state === 'ended');
    const newAuth = events.findIndex((e) => e.type === 'session' && e.session.sessionId === next.sessionId && e.session.state === 'authenticating');
    expect(oldEnd).toBeGreaterThanOrEqual(0);
    expect(oldEnd).toBeLessThan(newAuth);
    await expect(windowOf(before!.sessionId)!.strip.locator('.strip').getAttribute('data-state')).resolves.toBe('ended');

    // The new Lab window's strip shows the Small server.
    const w = await waitFor('the new Lab window', () => windowOf(next.sessionId), 60_000);
    await w.strip.locator('.strip-memory.level-ok').waitFor({ timeout: 30_000 });
    await expect(w.strip.locator('.strip').innerText()).resolves.toMatch(/^Small · Limits facility\s+Memory\s+\d+ MB \/ 2 GB\s+\d+ %/);
    await expect(submit.innerText()).resolves.toBe('Session open');
    await screenshot(page, 'launcher-switched');
  }, 240_000);

  it('kept to its CSP: no violations, no page errors (launcher and strips)', () => {
    expect(problems).toEqual([]);
    expect(stripProblems.size).toBe(2);
    for (const p of stripProblems.values()) expect(p).toEqual([]);
  });
});

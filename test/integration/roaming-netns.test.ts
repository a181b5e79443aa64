/**
 * The roaming fault matrix through real parts in network namespaces (test/rig/netns.ts): the
 * facility side — sshd and JupyterHub 5.2 with JupyterLab 4 — runs in a namespace of its own,
 * reached from "the laptop" (this process, `roamlab start --json` and Chromium) over a veth link
 * that the test takes down, or makes drop every packet silently (nftables). Admin calls go over a
 * second link that is never faulted.
 *
 * Each case checks the state transitions the CLI reports, that the notebook page opened before
 * the fault runs a cell afterwards — same page, same kernel socket, no reload — that no spawn was
 * requested, and that the roamlab process holds no more descriptors than before.
 * (sshd restart, a revoked token and a sleeping laptop are in roaming.test.ts.)
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { RigHub } from '../rig/hubs';
import type { RigSshd } from '../rig/sshd';
import { createNetRig, type NetRig } from '../rig/netns';
import { keychainEntry, startKeyring, type RigKeyring } from '../rig/keyring';
import { CliSession, makeHome, runCli, type JsonLine } from './helpers/cli';
import { launchChromium, screenshot, sixTimesSevenInLab } from './helpers/browser';
import { notebookPrompts, runCellInOpenNotebook } from './helpers/lab';
import { countSpawnRequests } from './helpers/hub';

const ID = 'roam-ns';
const USER = 'nomad';

let keyring: RigKeyring;
let rig: NetRig;
let sshd: RigSshd;
let hub: RigHub;
let browser: Browser;
let page: Page;
let cli: CliSession;
let home: string;
let gatewayPort = 0;
const pageSockets: string[] = [];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const states = (from: number): JsonLine[] => cli.lines.slice(from).filter((l) => l.event === 'state');
const names = (from: number): string[] => states(from).map((l) => l.name as string);
const backAfter = (from: number) => (l: JsonLine) => cli.lines.indexOf(l) >= from && l.event === 'state' && l.name === 'ready' && typeof l.downForMs === 'number';
const openFds = (): number => readdirSync(`/proc/${cli.child.pid}/fd`).length;
/** TCP connections of the roamlab process to the SSH gateway, established or still closing. */
const sshConnections = (): number =>
  execFileSync('ss', ['-tnpH', 'dst', `${rig.serverIp}:${sshd.port}`], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.includes(`pid=${cli.child.pid},`)).length;

/** GET through the gateway as the page would (with its cookie): status and how long it took. */
async function gatewayGet(p: string, accept = 'application/json'): Promise<{ status: number; ms: number; retryAfter: string | null; body: string }> {
  const cookies = await page.context().cookies(`http://127.0.0.1:${gatewayPort}`);
  const cookie = cookies.map((c) => `${c.name}=${c.value}`).join('; ');
  const t0 = Date.now();
  const res = await fetch(`http://127.0.0.1:${gatewayPort}${p}`, { headers: { cookie, accept }, signal: AbortSignal.timeout(20_000) });
  const body = await res.text();
  return { status: res.status, ms: Date.now() - t0, retryAfter: res.headers.get('retry-after'), body };
}

beforeAll(async () => {
  keyring = await startKeyring();
  Object.assign(process.env, keyring.env);
  rig = await createNetRig();
  [sshd, hub, browser] = await Promise.all([rig.startSshd(), rig.startHub({ flavor: 'jh5', prefix: '/jhub/' }), launchChromium()]);
  home = makeHome([
    {
      schema: 1,
      id: ID,
      name: 'Beamline facility',
      hub: { url: hub.url },
      ssh: sshd.profileSsh(),
      classes: [{ id: 'small', label: 'Small', memoryGB: 2, cores: 1, runtimeHours: 6, userOptions: { [hub.classKey]: 'small' } }],
    },
  ]);
  const env = { ROAMLAB_HOME: home, ...keyring.env };
  const login = await runCli(['login', ID, '--user', USER, '--password-stdin'], env, hub.password);
  expect(login.code, login.stderr).toBe(0);
  cli = CliSession.start(['start', ID, '--class', 'small', '--json'], env);
  const ready = await cli.waitFor((l) => l.event === 'state' && l.name === 'ready', 180_000);
  gatewayPort = ready.port as number;
  page = await browser.newPage();
  page.on('websocket', (ws) => pageSockets.push(ws.url()));
  await page.goto(ready.url as string);
  expect(await sixTimesSevenInLab(page, 'roaming-netns-before')).toBe('42');
}, 300_000);

afterAll(async () => {
  cli?.child.kill('SIGINT');
  await cli?.exited;
  await browser?.close();
  await rig?.close();
  await keyring?.stop();
}, 90_000);

/** After a fault: back by itself, same page runs a cell, no spawn, no new page socket, fds flat. */
async function expectBack(from: number, before: { sockets: number; fds: number; spawns: number }, code: string, want: string, timeoutMs: number): Promise<JsonLine> {
  const back = await cli.waitFor(backAfter(from), timeoutMs);
  const seen = names(from);
  expect(seen[0]).toBe('degraded');
  expect(seen).toContain('reconnecting');
  expect(seen).not.toContain('ended');
  expect(back.reason).toMatch(/^Back — .+ offline$/);
  await expectNoLabDialog();
  expect(await explained(runCellInOpenNotebook(page, code))).toBe(want);
  expect(pageSockets.slice(before.sockets)).toEqual([]);
  expect(countSpawnRequests(hub, USER)).toBe(before.spawns);
  await sleep(500);
  // One SSH connection, the new one; the old one is closed, not lingering.
  expect(sshConnections()).toBe(1);
  // Descriptors: the browser may hold a few more keep-alive connections to the gateway after the
  // failed requests of the outage (it opens up to 6 per host); nothing grows beyond that.
  expect(openFds()).toBeLessThanOrEqual(before.fds + 6);
  return back;
}

/** A failure says what the CLI logged and what the Lab page shows: a CI log is all there is. */
async function explained<T>(what: Promise<T>): Promise<T> {
  try {
    return await what;
  } catch (e) {
    let log: string;
    try {
      log = readFileSync(path.join(home, 'logs', 'roamlab.log'), 'utf8').trimEnd().split('\n').slice(-40).join('\n');
    } catch (err) {
      log = String(err);
    }
    const lab = await page.locator('.jp-Dialog, #jp-main-statusbar').allInnerTexts().catch((err: Error) => [err.message]);
    await screenshot(page, 'roaming-netns-failure').catch(() => undefined);
    // The single-user server's side of the kernel's WebSockets (connects, restores, replays, errors).
    let server: string;
    try {
      server = readFileSync(hub.logFile, 'utf8')
        .split('\n')
        .filter((l) => /ServerApp\]/.test(l) && !/\] 200 (GET|PATCH|PUT)/.test(l))
        .slice(-40)
        .join('\n');
    } catch (err) {
      server = String(err);
    }
    // The kernel as the server sees it (connections, state) and the notebook's prompts ("[*]:" sent, "[ ]:" not).
    const kernels = await gatewayGet(`/jhub/user/${USER}/api/kernels`).then((r) => `${r.status} ${r.body}`, (err: Error) => err.message);
    const prompts = await notebookPrompts(page).catch((err: Error) => [err.message]);
    (e as Error).message +=
      `\n--- roamlab log, last 40 lines:\n${log}\n--- Lab dialogs and status bar: ${JSON.stringify(lab)}` +
      `\n--- kernels: ${kernels}\n--- prompts: ${JSON.stringify(prompts)}` +
      `\n--- single-user server log (not 200s), last 40 lines:\n${server}`;
    throw e;
  }
}

/**
 * JupyterLab on a hub answers a 503/424 from its polls with "Server unavailable or unreachable …
 * Would you like to restart it?" — a click would spawn. That one may never appear. An autosave
 * that fell into the outage may have said so ("File Save Error … Roamlab is reconnecting"): that
 * is the truth, so it is allowed, read, and dismissed.
 */
async function expectNoLabDialog(): Promise<void> {
  await sleep(1000);
  const dialogs = await page.locator('.jp-Dialog').allInnerTexts();
  for (const text of dialogs) {
    expect(text).not.toMatch(/restart|not running|unavailable/i);
    expect(text).toMatch(/Roamlab is reconnecting/);
  }
  for (let i = 0; i < dialogs.length; i++) {
    await page.locator('.jp-Dialog button').filter({ hasText: 'Dismiss' }).first().click();
  }
  await expect.poll(() => page.locator('.jp-Dialog').count()).toBe(0);
}

/** Ctrl+S in the notebook saves it now that the link is back (nothing typed was lost). */
async function expectSaves(mustContain: string): Promise<void> {
  await page.locator('.jp-NotebookPanel .jp-Cell').last().click();
  await page.keyboard.press('Escape');
  await page.keyboard.press('Control+s');
  // JupyterLab 4 offers to rename an Untitled notebook on its first save; keeping the name saves.
  const rename = page.locator('.jp-Dialog', { hasText: 'Rename file' });
  if (await rename.waitFor({ timeout: 3000 }).then(() => true, () => false)) await rename.getByRole('button', { name: 'Cancel' }).click();
  await expect
    .poll(async () => {
      const r = await gatewayGet(`/jhub/user/${USER}/api/contents/Untitled.ipynb?content=1`);
      return r.status === 200 && r.body.includes(mustContain);
    }, { timeout: 20_000 })
    .toBe(true);
  expect(await page.locator('.jp-Dialog').allInnerTexts()).toEqual([]);
}

const snapshot = () => ({ sockets: pageSockets.length, fds: openFds(), spawns: countSpawnRequests(hub, USER) });

describe('roaming through a faulty link (network namespaces)', () => {
  it('Wi-Fi off for 5 s: noticed, reconnected after link-up, the page carries on', async () => {
    const before = snapshot();
    expect(before.spawns).toBe(1);
    const from = cli.lines.length;
    await rig.linkDown();
    const degraded = await cli.waitFor((l) => cli.lines.indexOf(l) >= from && l.name === 'degraded', 10_000);
    expect(degraded.reason).toMatch(/lost/i);
    await sleep(5000);
    const up = Date.now();
    await rig.linkUp();
    await expectBack(from, before, '6*8', '48', 30_000);
    // With the backoff at 1–4 s by now, the session is back within a few seconds of link-up.
    expect(Date.now() - up).toBeLessThan(15_000);
  }, 90_000);

  it('silent drop for 10 s (no RST, no ICMP): keepalives notice within seconds, back after the drop ends', async () => {
    const before = snapshot();
    const from = cli.lines.length;
    const t0 = Date.now();
    await rig.dropOn();
    const degraded = await cli.waitFor((l) => cli.lines.indexOf(l) >= from && l.name === 'degraded', 15_000);
    expect(Date.now() - t0).toBeLessThan(6000); // keepalive 1 s × 2 (the goal of 3 s is measured in the benchmark)
    expect(degraded.reason).toMatch(/connection lost|not answering/i);
    await sleep(Math.max(0, 10_000 - (Date.now() - t0)));
    await rig.dropOff();
    await expectBack(from, before, '6*9', '54', 60_000);
  }, 120_000);

  it('hub and proxy restarted slowly (30 s) while servers keep running: the page carries on, nothing is spawned', async () => {
    const before = snapshot();
    const from = cli.lines.length;
    // A slow restart: 30 s down, longer than the ~24 s a kernel socket is held over a link that
    // looks up. The session notices the hub gone, and for as long as it reconnects the page's
    // kernel socket stays held; then the relay resumes it.
    const downMs = await hub.restart({ downForMs: 30_000 });
    expect(downMs).toBeGreaterThan(30_000);
    await cli.waitFor(backAfter(from), 60_000);
    expect(names(from)[0]).toBe('degraded');
    expect(names(from)).not.toContain('ended');
    await expectNoLabDialog();
    expect(await explained(runCellInOpenNotebook(page, '7*7'))).toBe('49');
    expect(pageSockets.slice(before.sockets)).toEqual([]);
    expect(countSpawnRequests(hub, USER)).toBe(before.spawns);
  }, 180_000);

  it('Wi-Fi off for 3 minutes: requests get "reconnecting" instead of hanging, and it comes back by itself', async () => {
    const before = snapshot();
    const from = cli.lines.length;
    await rig.linkDown();
    await cli.waitFor((l) => cli.lines.indexOf(l) >= from && l.name === 'degraded', 10_000);
    // Nothing hangs: an API call waits a few seconds, then 503 + Retry-After; a navigation gets
    // the page that says so and reloads itself.
    const api = await gatewayGet(`/jhub/user/${USER}/api/contents`);
    expect(api.status).toBe(504);
    expect(api.retryAfter).toBe('2');
    expect(api.ms).toBeLessThan(10_000);
    const nav = await gatewayGet(`/jhub/user/${USER}/lab`, 'text/html');
    expect(nav.status).toBe(503);
    expect(nav.body).toContain('Reconnecting to Beamline facility');
    await sleep(180_000 - 10_000);
    const waiting = states(from).filter((l) => l.name === 'reconnecting' && typeof l.nextTryInMs === 'number');
    expect(waiting.length).toBeGreaterThan(3);
    // The backoff is capped at 30 s (+ jitter within the cap).
    expect(Math.max(...waiting.map((l) => l.nextTryInMs as number))).toBeLessThanOrEqual(30_000);
    const up = Date.now();
    await rig.linkUp();
    await expectBack(from, before, '8*9', '72', 60_000);
    expect(Date.now() - up).toBeLessThan(10_000); // the reachability check, not the 30 s backoff
    await expectSaves('8*9');
    await screenshot(page, 'roaming-netns-after-3min');
  }, 300_000);

  it('server stopped at the hub while the link is down: ends with the reason, offers the same class, loses nothing', async () => {
    const from = cli.lines.length;
    const spawns = countSpawnRequests(hub, USER);
    await rig.linkDown();
    await cli.waitFor((l) => cli.lines.indexOf(l) >= from && l.name === 'degraded', 10_000);
    const stop = await fetch(new URL(`hub/api/users/${USER}/server`, hub.adminUrl), { method: 'DELETE', headers: { authorization: `token ${hub.adminToken}` } });
    expect([202, 204]).toContain(stop.status);
    for (let i = 0; i < 60; i++) {
      const u = (await (await fetch(new URL(`hub/api/users/${USER}`, hub.adminUrl), { headers: { authorization: `token ${hub.adminToken}` } })).json()) as { servers?: Record<string, unknown> };
      if (!u.servers?.['']) break;
      await sleep(500);
    }
    await rig.linkUp();
    const ended = await cli.waitFor((l) => cli.lines.indexOf(l) >= from && l.name === 'ended', 60_000);
    expect((ended.error as { kind: string }).kind).toMatch(/^server-ended-/);
    expect(ended.reason).toMatch(/stopped|culled|no longer/i);
    expect((ended.error as { hint: string }).hint).toMatch(/same class/i);
    expect(await cli.exited).toBe(4);
    expect(countSpawnRequests(hub, USER)).toBe(spawns); // never a silent re-spawn
    // Nothing the person had is lost: profile, stored credentials, the last class.
    expect(existsSync(path.join(home, 'facilities', `${ID}.json`))).toBe(true);
    const entry = (kind: string) => keychainEntry(`${ID}/${kind}/${USER}`);
    expect(await entry('token').getPassword()).toMatch(/^[A-Za-z0-9]{20,}$/);
    expect(await entry('password').getPassword()).toBe(hub.password);
    const state = JSON.parse(readFileSync(path.join(home, 'state.json'), 'utf8')) as { facilities: Record<string, { lastClass?: string }> };
    expect(state.facilities[ID]?.lastClass).toBe('small');
  }, 150_000);
});

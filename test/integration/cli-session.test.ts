import { execFileSync, spawn } from 'node:child_process';
import http from 'node:http';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startHub, type HubFlavor, type RigHub } from '../rig/hubs';
import { startSshd, type RigSshd } from '../rig/sshd';
import { keychainEntry, startKeyring, type RigKeyring } from '../rig/keyring';
import { startSshAgent } from '../rig/ssh-agent';
import { createInServer, hubApi, revokeAllTokens } from './helpers/hub';
import { CliSession, makeHome, runCli, runCliInTerminal, type JsonLine } from './helpers/cli';
import { launchChromium, screenshot, sixTimesSevenInClassic, sixTimesSevenInLab } from './helpers/browser';
import { until } from './helpers/wait';
import { openPlaceScript } from '../../electron/core/session/place';

// The whole path through real parts: `roamlab login` and `roamlab start --json` as a user runs
// them, a real Secret Service keychain, a real sshd as the facility's gateway, a real JupyterHub
// (5.2 with JupyterLab from Debian 13, and Debian 12's 3.0 with the classic notebook), and
// Chromium running a cell in the page the entry URL opens.

let keyring: RigKeyring;
let sshd: RigSshd;
/** A bastion in front of sshd (the profile's ssh.proxyJump): it lets tunnels through to sshd's port only. */
let jumpSshd: RigSshd;
/** known_hosts trusting both sshd and the bastion. */
let knownBoth: string;
let browser: Browser;

beforeAll(async () => {
  keyring = await startKeyring();
  Object.assign(process.env, keyring.env); // this test reads the keychain too
  sshd = await startSshd();
  jumpSshd = await startSshd({ extraConfig: [`PermitOpen 127.0.0.1:${sshd.port}`, 'LogLevel DEBUG1'] });
  appendFileSync(path.join(jumpSshd.dir, 'authorized_keys'), readFileSync(`${sshd.identityFile}.pub`));
  knownBoth = path.join(sshd.dir, 'known_both');
  writeFileSync(knownBoth, readFileSync(sshd.knownHostsFile, 'utf8') + readFileSync(jumpSshd.knownHostsFile, 'utf8'));
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await jumpSshd?.stop();
  await sshd?.stop();
  await keyring?.stop();
});

/** The profile's ssh: sshd as the gateway, through the bastion when `jump`. */
function sshSettings(jump: boolean, identityFile = sshd.identityFile) {
  return jump ? sshd.profileSsh({ identityFile, knownHostsFile: knownBoth, proxyJump: `127.0.0.1:${jumpSshd.port}` }) : sshd.profileSsh({ identityFile });
}

/** Every file under a folder, as text (for grepping secrets). */
function allText(dir: string): string {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => readFileSync(path.join(d.parentPath, d.name), 'utf8'))
    .join('\n');
}

/** The CLI's environment for one facility: `hub` through this file's sshd, offering its small class. */
function facilityEnv(id: string, name: string, hub: RigHub): NodeJS.ProcessEnv {
  const home = makeHome([
    {
      schema: 1,
      id,
      name,
      hub: { url: hub.url },
      ssh: sshSettings(false),
      classes: [{ id: 'small', label: 'Small', memoryGB: 2, cores: 1, userOptions: { [hub.classKey]: 'small' } }],
    },
  ]);
  return { ROAMLAB_HOME: home, ...keyring.env };
}

/**
 * Sign in, `roamlab start --json` the small class until ready, and give `use` a page in a browser
 * context of its own (not yet at the entry URL). Then Ctrl-C closes the tunnel (exit 0) and
 * `roamlab stop` stops the server.
 */
async function withStartedSession(
  id: string,
  user: string,
  env: NodeJS.ProcessEnv,
  hub: RigHub,
  use: (s: { session: CliSession; ready: JsonLine; context: BrowserContext; page: Page }) => Promise<void>,
): Promise<void> {
  const login = await runCli(['login', id, '--user', user, '--password-stdin'], env, hub.password);
  expect(login.stderr).toBe('');
  expect(login.code).toBe(0);
  const session = CliSession.start(['start', id, '--class', 'small', '--json'], env);
  try {
    const ready = await session.waitFor((l) => l.event === 'state' && l.name === 'ready', 180_000);
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await use({ session, ready, context, page: await context.newPage() });
    await context.close();
    session.child.kill('SIGINT');
    expect(await session.exited).toBe(0);
  } finally {
    session.child.kill('SIGKILL');
  }
  expect((await runCli(['stop', id], env)).code).toBe(0);
}

describe.each([
  // jh5 starts a class from the profile; jh3 one that only the hub's spawn form offers (the
  // "slow" queue, which also shows the hub's progress messages).
  // jh3's gateway is behind a jump host (ssh.proxyJump), as a facility's bastion.
  { flavor: 'jh5' as HubFlavor, prefix: '/jhub/', user: 'alice', klass: 'small', jump: false, via: 'sshd' },
  { flavor: 'jh3' as HubFlavor, prefix: '/', user: 'bob', klass: 'slow', jump: true, via: 'a jump host and sshd' },
])('roamlab through $via to JupyterHub $flavor (prefix $prefix)', ({ flavor, prefix, user, klass, jump }) => {
  let hub: RigHub;
  let home: string;
  let env: NodeJS.ProcessEnv;
  const id = `rig-${flavor}`;

  beforeAll(async () => {
    hub = await startHub({ flavor, prefix });
    home = makeHome([
      {
        schema: 1,
        id,
        name: `Test facility (${flavor})`,
        hub: { url: hub.url },
        ssh: sshSettings(jump),
        classes: [
          { id: 'small', label: 'Small', memoryGB: 2, cores: 1, userOptions: { [hub.classKey]: 'small' } },
          { id: 'bogus', label: 'Not at this hub', userOptions: { [hub.classKey]: 'bogus' } },
        ],
      },
    ]);
    env = { ROAMLAB_HOME: home, ...keyring.env };
  });

  afterAll(async () => {
    await hub?.stop();
  });

  it('refuses a wrong password plainly and stores nothing', async () => {
    const r = await runCli(['login', id, '--user', user, '--password-stdin'], env, 'not-the-password');
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/did not accept the username or password/i);
    expect(await keychainEntry(`${id}/token/${user}`).getPassword()).toBeNull();
    expect(await keychainEntry(`${id}/password/${user}`).getPassword()).toBeNull();
  });

  it('signs in once; the token and password go to the keychain only', async () => {
    const r = await runCli(['login', id, '--user', user, '--password-stdin'], env, hub.password);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Signed in/);
    expect(await keychainEntry(`${id}/token/${user}`).getPassword()).toMatch(/^[A-Za-z0-9]{20,}$/);
    expect(await keychainEntry(`${id}/password/${user}`).getPassword()).toBe(hub.password);
  });

  it('lists the profile\'s classes and the ones the hub\'s own form offers', async () => {
    const r = await runCli(['classes', id], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/small\s+Small — 2 GB, 1 core\n/);
    expect(r.stdout).toMatch(/slow\s+.*\(offered by the hub\)/);
    expect(r.stdout).toMatch(/tiny\s+.*\(offered by the hub\)/);
  });

  it('signs in through the gateway with an encrypted key that ssh-agent holds: no passphrase asked or stored', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'roamlab-agent-'));
    const agent = await startSshAgent(dir);
    const sock = agent.sock;
    try {
      const key = path.join(dir, 'id_ed25519');
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'agent phrase', '-f', key]);
      appendFileSync(path.join(sshd.dir, 'authorized_keys'), readFileSync(`${key}.pub`));
      appendFileSync(path.join(jumpSshd.dir, 'authorized_keys'), readFileSync(`${key}.pub`));
      await agent.add(key, 'agent phrase');
      const agentId = `${id}-agent`;
      const profile = path.join(dir, 'p.json');
      writeFileSync(profile, JSON.stringify({ schema: 1, id: agentId, name: 'Key in the agent', hub: { url: hub.url }, ssh: sshSettings(jump, key), classes: [] }));
      const args = ['login', agentId, '--facility-file', profile, '--user', user, '--password-stdin'];
      const without = await runCli(args, { ...env, SSH_AUTH_SOCK: '' }, hub.password);
      expect(without.code).toBe(3);
      expect(without.stderr).toMatch(/passphrase/);
      expect(without.stderr).toContain(`ssh-add ${key}`);
      const r = await runCli(args, { ...env, SSH_AUTH_SOCK: sock }, hub.password);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(await keychainEntry(`${agentId}/token/${user}`).getPassword()).toMatch(/^[A-Za-z0-9]{20,}$/);
      expect(await keychainEntry(`${agentId}/passphrase/${sshd.user}`).getPassword()).toBeNull();
      await runCli(['logout', agentId, '--facility-file', profile], env);
    } finally {
      agent.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('mints a new token from the stored password when the hub revokes the old one', async () => {
    const before = (await keychainEntry(`${id}/token/${user}`).getPassword())!;
    expect(await revokeAllTokens(hub, user)).toBeGreaterThan(0);
    const r = await runCli(['status', id], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const after = await keychainEntry(`${id}/token/${user}`).getPassword();
    expect(after).toMatch(/^[A-Za-z0-9]{20,}$/);
    expect(after).not.toBe(before);
  });

  it('shows the hub\'s own 400 for a class the hub does not know', async () => {
    const r = await runCli(['start', id, '--class', 'bogus', '--json'], env);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/Unknown notebook class 'bogus'/);
    const last = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { event: string; kind: string };
    expect(last).toMatchObject({ event: 'error', kind: 'hub-bad-request' });
  });

  it('starts a server, tunnels it, and the page in Chromium computes 6*7', async () => {
    const session = CliSession.start(['start', id, '--class', klass, '--json'], env);
    try {
      const ready = await session.waitFor((l) => l.event === 'state' && l.name === 'ready', 180_000);
      const names = session.lines.filter((l) => l.event === 'state').map((l) => l.name);
      expect(names[0]).toBe('authenticating');
      expect(names).toContain('spawning');
      if (klass === 'slow') {
        const messages = session.lines.filter((l) => l.name === 'spawning').map((l) => String(l.message));
        expect(messages.filter((m) => /Waiting for a slot \(\d\/3\)/.test(m)).length).toBeGreaterThanOrEqual(2);
      }
      expect(names.at(-2)).toBe('connecting');
      const url = new URL(ready.url!);
      expect(url.hostname).toBe('127.0.0.1');

      // Nothing secret in the CLI's own arguments.
      const token = (await keychainEntry(`${id}/token/${user}`).getPassword())!;
      const cmdline = readFileSync(`/proc/${session.child.pid}/cmdline`, 'utf8');
      expect(cmdline).not.toContain(token);
      expect(cmdline).not.toContain(hub.password);

      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      const page = await context.newPage();
      await page.goto(ready.url!);
      const expectedPath = `${prefix}user/${user}/${flavor === 'jh5' ? 'lab' : 'tree'}`;
      await page.waitForURL((u) => u.pathname.startsWith(expectedPath), { timeout: 60_000 });
      expect(page.url()).not.toContain(token);
      const out = flavor === 'jh5' ? await sixTimesSevenInLab(page, `${flavor}-lab-42`) : await sixTimesSevenInClassic(context, page, `${flavor}-notebook-42`);
      expect(out).toContain('42');
      await screenshot(page, `${flavor}-landing`);

      // Through the bastion: it carried the tunnel to sshd (its log names each one).
      if (jump) expect(readFileSync(jumpSshd.logFile, 'utf8')).toMatch(new RegExp(`direct_tcpip.*target 127\\.0\\.0\\.1 port ${sshd.port}`));
      await context.close();
      session.child.kill('SIGINT');
      expect(await session.exited).toBe(0);
    } finally {
      session.child.kill('SIGKILL');
    }

    // The server keeps running after the tunnel closes.
    const status = await runCli(['status', id, '--json'], env);
    expect(status.code).toBe(0);
    const servers = (JSON.parse(status.stdout) as { servers: { name: string; ready: boolean }[] }).servers;
    expect(servers.find((s) => s.name === '')?.ready).toBe(true);
  });

  it('bookmarks the notebook, and resuming the bookmark opens it in the page', async () => {
    // The previous test's notebook, Untitled.ipynb, is in the running server.
    const name = `Run at ${flavor}`;
    const add = await runCli(['bookmark', 'add', id, '--class', klass, '--name', name, '--place', '/Untitled.ipynb'], env);
    expect(add.stderr).toBe('');
    expect(add.code).toBe(0);
    const session = CliSession.start(['resume', name.toLowerCase(), '--json'], env);
    try {
      const ready = await session.waitFor((l) => l.event === 'state' && l.name === 'ready', 120_000);
      // The server was running: reused, nothing spawned.
      expect(session.lines.filter((l) => l.event === 'state').map((l) => l.name)).not.toContain('spawning');
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      const page = await context.newPage();
      await page.goto(ready.url!);
      const expected = `${prefix}user/${user}/${flavor === 'jh5' ? 'lab/tree' : 'notebooks'}/Untitled.ipynb`;
      await page.waitForURL((u) => u.pathname === expected, { timeout: 60_000 });
      if (flavor === 'jh5') {
        await expect.poll(() => page.locator('.jp-NotebookPanel-toolbar').count(), { timeout: 60_000 }).toBeGreaterThan(0);
        await expect.poll(() => page.locator('.lm-DockPanel .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabLabel').first().innerText(), { timeout: 30_000 }).toBe('Untitled.ipynb');
      } else {
        await expect.poll(() => page.locator('#notebook_name').innerText(), { timeout: 60_000 }).toBe('Untitled');
      }
      await screenshot(page, `${flavor}-bookmark-resumed`);

      // Another bookmark's place, shown in this open page as the app does it (ShellHooks.runInLab):
      // JupyterLab opens it in a tab beside the first, without reloading the page; the classic
      // interface in a window of its own.
      const put = await createInServer(hub, user, 'Second run.ipynb', 'notebook');
      expect(put.status).toBe(201);
      const lab = flavor === 'jh5';
      const script = openPlaceScript(`${prefix}user/${user}/`, lab, 'Second run.ipynb');
      if (lab) {
        await page.evaluate(() => ((window as unknown as { roamlabMark: string }).roamlabMark = 'the same page'));
        expect(await page.evaluate(script)).toBe(true);
        await expect.poll(() => page.locator('.lm-DockPanel .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabLabel').first().innerText(), { timeout: 30_000 }).toBe('Second run.ipynb');
        expect(await page.locator('.lm-DockPanel .lm-TabBar-tab .lm-TabBar-tabLabel').allInnerTexts()).toContain('Untitled.ipynb');
        expect(await page.evaluate(() => (window as unknown as { roamlabMark?: string }).roamlabMark)).toBe('the same page');

        // The same, run as the page is still loading (a Resume clicked as its window opens): the
        // script waits for JupyterLab's app, and for JupyterLab's own opening of the document its
        // address names, so the bookmark's document ends up in front, in this page.
        await page.goto(`${new URL(ready.url!).origin}${expected}`, { waitUntil: 'domcontentloaded' });
        expect(await page.evaluate(script)).toBe(true);
        const front = () => page.locator('.lm-DockPanel .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabLabel').first().innerText();
        await expect.poll(front, { timeout: 30_000 }).toBe('Second run.ipynb');
        expect(await page.locator('.jp-FileBrowser.jp-mod-restoring').count()).toBe(0);
        expect(await front()).toBe('Second run.ipynb');
        expect(context.pages()).toEqual([page]);
      } else {
        const [popup] = await Promise.all([context.waitForEvent('page'), page.evaluate(script)]);
        await popup.waitForURL((u) => u.pathname === `${prefix}user/${user}/notebooks/Second%20run.ipynb`, { timeout: 30_000 });
        await expect.poll(() => popup.locator('#notebook_name').innerText(), { timeout: 60_000 }).toBe('Second run');
        expect(new URL(page.url()).pathname).toBe(expected);
      }
      await context.close();
      session.child.kill('SIGINT');
      expect(await session.exited).toBe(0);
    } finally {
      session.child.kill('SIGKILL');
    }
    const list = await runCli(['bookmarks', '--json'], env);
    const [b] = (JSON.parse(list.stdout) as { bookmarks: { name: string; place?: string; lastUsedAt?: string }[] }).bookmarks;
    expect(b).toMatchObject({ name, place: 'Untitled.ipynb', lastUsedAt: expect.any(String) });
  });

  it("the page's Hub Control Panel, Log Out and Restart Server show where those are in Roamlab, not the hub's sign-in; the hub's page is one click away", async () => {
    const session = CliSession.start(['start', id, '--class', klass, '--json'], env);
    try {
      const ready = await session.waitFor((l) => l.event === 'state' && l.name === 'ready', 120_000);
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      const page = await context.newPage();
      await page.goto(ready.url!);
      const lab = flavor === 'jh5';
      const home = `${prefix}user/${user}/${lab ? 'lab' : 'tree'}`;
      await page.waitForURL((u) => u.pathname.startsWith(home), { timeout: 60_000 });
      const facility = `Test facility (${flavor})`;
      // JupyterLab opens the control panel in a new tab; the classic Notebook's link goes there in the page.
      let panel = page;
      if (lab) {
        [panel] = await Promise.all([
          context.waitForEvent('page'),
          (async () => {
            await page.locator('.lm-MenuBar-itemLabel', { hasText: /^File$/ }).click();
            await page.locator('.lm-Menu-itemLabel', { hasText: /^Hub Control Panel$/ }).click();
          })(),
        ]);
      } else {
        await page.locator('#jupyterhub-control-panel-link').click();
      }
      await panel.waitForURL((u) => u.pathname === `${prefix}hub/home`, { timeout: 30_000 });
      await expect.poll(() => panel.locator('h1').innerText(), { timeout: 30_000 }).toBe(`Your servers at ${facility} are in the Roamlab window`);
      await screenshot(panel, `${flavor}-hub-control-panel`);
      // The hub's own page after all: its sign-in form (it does not take the token for its pages).
      await panel.getByRole('link', { name: "Sign in to the hub's page anyway" }).click();
      await panel.waitForURL((u) => u.pathname.startsWith(`${prefix}hub/login`), { timeout: 30_000 });
      expect(await panel.locator('input[name="username"]').count()).toBe(1);
      if (lab) await panel.close();
      else await page.goto(`${new URL(ready.url!).origin}${home}`);
      await page.waitForURL((u) => u.pathname.startsWith(home), { timeout: 60_000 });
      // Log Out: the server's logout sends the page to the hub's.
      if (lab) {
        await page.locator('.lm-MenuBar-itemLabel', { hasText: /^File$/ }).click();
        // JupyterLab's own Log Out and the hub extension's: both go to the server's logout.
        await page.locator('.lm-Menu-itemLabel', { hasText: /^Log Out$/ }).last().click();
      } else {
        await page.locator('#logout').click();
      }
      await page.waitForURL((u) => u.pathname === `${prefix}hub/logout`, { timeout: 30_000 });
      await expect.poll(() => page.locator('h1').innerText(), { timeout: 30_000 }).toBe(`You are still signed in to ${facility}`);
      await screenshot(page, `${flavor}-hub-logout`);
      // Nothing was signed out: back to the notebooks, which still work.
      await page.getByRole('link', { name: 'Back to your notebooks' }).click();
      await page.waitForURL((u) => u.pathname.startsWith(home), { timeout: 60_000 });
      if (lab) {
        // JupyterLab's Restart Server (also what its "server unavailable" dialog offers) opens the hub's start page.
        type App = { jupyterapp?: { commands: { hasCommand(id: string): boolean; execute(id: string): Promise<unknown> } } };
        await page.waitForFunction(() => (window as unknown as App).jupyterapp?.commands.hasCommand('hub:restart') === true, undefined, { timeout: 60_000 });
        const [restart] = await Promise.all([
          context.waitForEvent('page'),
          page.evaluate(() => (window as unknown as App).jupyterapp!.commands.execute('hub:restart')),
        ]);
        await restart.waitForURL((u) => u.pathname.startsWith(`${prefix}hub/spawn`), { timeout: 30_000 });
        await expect.poll(() => restart.locator('h1').innerText(), { timeout: 30_000 }).toBe(`Start your server at ${facility} from the Roamlab window`);
        await restart.close();
      }
      const status = await runCli(['status', id, '--json'], env);
      expect(status.code).toBe(0);
      await context.close();
      session.child.kill('SIGINT');
      expect(await session.exited).toBe(0);
    } finally {
      session.child.kill('SIGKILL');
    }
  });

  it('stops the server at the hub', async () => {
    const r = await runCli(['stop', id], env);
    expect(r.code).toBe(0);
    const status = await runCli(['status', id, '--json'], env);
    expect((JSON.parse(status.stdout) as { servers: { ready: boolean }[] }).servers.filter((s) => s.ready)).toEqual([]);
  });

  it('left no password or token in ROAMLAB_HOME or the logs', async () => {
    const token = (await keychainEntry(`${id}/token/${user}`).getPassword())!;
    const text = allText(home);
    expect(text.length).toBeGreaterThan(0);
    expect(readdirSync(path.join(home, 'logs'))).toContain('roamlab.log');
    expect(text).not.toContain(token);
    expect(text).not.toContain(hub.password);
    expect(statSync(path.join(home, 'logs', 'roamlab.log')).size).toBeGreaterThan(0);
  });
});

describe('roamlab through sshd to JupyterHub jh5 with subdomain_host: each user on a host of their own', () => {
  // JupyterHub's subdomain_host puts every user's server on its own host name (here
  // carol.localhost:PORT), which the hub's REST API gives as an absolute server URL; the same
  // proxy serves it, routed by Host. Nothing resolves *.localhost on this machine (nor need a
  // facility's SSH gateway resolve its wildcard): Roamlab reaches the user's host where it reaches
  // the hub, through sshd, and names it in Host, Origin and the TLS name.
  let hub: RigHub;
  let env: NodeJS.ProcessEnv;
  const id = 'rig-subdomains';
  const user = 'carol';

  beforeAll(async () => {
    hub = await startHub({ flavor: 'jh5', subdomains: true });
    env = facilityEnv(id, 'Test facility (subdomains)', hub);
  });

  afterAll(async () => {
    await hub?.stop();
  });

  it("starts a server on the user's own host; the page computes 6*7 and the node's stats come in", async () => {
    await withStartedSession(id, user, env, hub, async ({ session, ready, context, page }) => {
      // The hub is in subdomain mode: it gives the server's URL on the user's host.
      const model = (await (await hubApi(hub, 'GET', `users/${user}`)).json()) as { servers: Record<string, { url: string }> };
      expect(model.servers['']!.url).toBe(`http://${user}.localhost:${hub.port}/user/${user}/`);

      await page.goto(ready.url!);
      await page.waitForURL((u) => u.origin === new URL(ready.url!).origin && u.pathname.startsWith(`/user/${user}/lab`), { timeout: 60_000 });
      // HTTP and the kernel's WebSocket both reach the server on carol.localhost.
      expect(await sixTimesSevenInLab(page, 'subdomains-lab-42')).toContain('42');
      await screenshot(page, 'subdomains-landing');
      // The hub names its own origin as hubHost in the Lab page; through the gateway it is empty,
      // so JupyterLab's hub menu stays on the gateway instead of leaving for localhost:PORT.
      const gateway = new URL(ready.url!).origin;
      const raw = await new Promise<string>((resolve, reject) =>
        http
          .get({ host: '127.0.0.1', port: hub.port, path: `/user/${user}/lab`, headers: { host: `${user}.localhost:${hub.port}`, authorization: `token ${hub.adminToken}` } }, (r) => {
            let body = '';
            r.on('data', (d: Buffer) => (body += d.toString()));
            r.on('end', () => resolve(body));
          })
          .on('error', reject),
      );
      expect(raw).toMatch(new RegExp(`"hubHost":\\s*"http://localhost:${hub.port}"`));
      const [panel] = await Promise.all([
        context.waitForEvent('page'),
        page.evaluate(() => (window as unknown as { jupyterapp: { commands: { execute(id: string): Promise<unknown> } } }).jupyterapp.commands.execute('hub:control-panel')),
      ]);
      await panel.waitForLoadState('domcontentloaded');
      expect(new URL(panel.url()).origin).toBe(gateway);
      expect(new URL(panel.url()).pathname).toMatch(/^\/hub\//);
      // The monitor reads the server's metrics on that host too.
      const metrics = await session.waitFor((l) => l.event === 'metrics', 60_000);
      expect(Number(metrics.rssBytes)).toBeGreaterThan(0);
    });
  });
});

describe('roamlab through sshd to JupyterHub jh5 with a public_url it is not reached at', () => {
  // A facility whose hub is public at one name (public_url) and reached through its SSH gateway at
  // another (the profile's hub.url, an inside address). The hub then names the public address in
  // some absolute redirects (…/hub/ → <public_url>hub/, user-redirect). Nothing answers at that
  // address here, as from a laptop outside the facility's network nothing may: those redirects
  // must stay on the gateway.
  let hub: RigHub;
  let env: NodeJS.ProcessEnv;
  const id = 'rig-public-url';
  const user = 'dave';
  const publicUrl = 'https://jupyter.facility.invalid/jhub/';

  beforeAll(async () => {
    hub = await startHub({ flavor: 'jh5', prefix: '/jhub/', publicUrl });
    env = facilityEnv(id, 'Test facility (public_url)', hub);
  });

  afterAll(async () => {
    await hub?.stop();
  });

  it("the page computes 6*7; the hub's redirects to its public address stay on the gateway", async () => {
    await withStartedSession(id, user, env, hub, async ({ ready, page }) => {
      const gateway = new URL(ready.url!).origin;
      const visited: string[] = [];
      page.on('request', (r) => {
        if (r.isNavigationRequest()) visited.push(r.url());
      });
      await page.goto(ready.url!);
      await page.waitForURL((u) => u.origin === gateway && u.pathname.startsWith(`/jhub/user/${user}/lab`), { timeout: 60_000 });
      expect(await sixTimesSevenInLab(page, 'public-url-lab-42')).toContain('42');
      // The hub's redirects, as a typed address or JupyterLab's hub menu meet them; this hub
      // names its public address in some (/jhub/hub/ → https://jupyter.facility.invalid/jhub/hub/).
      // (The gateway answers the hub's control panel itself; ?roamlab=hub lets it through to the
      // hub, whose redirect is the one to bring back.)
      for (const [from, to] of [
        ['/jhub/hub/?roamlab=hub', '/jhub/hub/'],
        ['/jhub/user-redirect/tree', '/jhub/hub/'],
        [`/jhub/hub/user/${user}/`, `/jhub/user/${user}/`],
        ['/jhub/', '/jhub/'],
      ]) {
        await page.goto(gateway + from!);
        await page.waitForLoadState('domcontentloaded');
        expect(new URL(page.url()).origin, `${from} → ${page.url()}`).toBe(gateway);
        expect(new URL(page.url()).pathname.startsWith(to!), `${from} → ${page.url()}`).toBe(true);
      }
      expect(visited.filter((u) => !u.startsWith(gateway))).toEqual([]);
    });
  });
});

describe('roamlab at a terminal, through a gateway that asks for a one-time code after the key (PAM, pam_oath)', () => {
  let hub: RigHub;
  let otpSshd: RigSshd;
  let env: NodeJS.ProcessEnv;
  const id = 'rig-otp';
  const user = 'dora';

  beforeAll(async () => {
    [hub, otpSshd] = await Promise.all([startHub({ flavor: 'jh3' }), startSshd({ otp: {} })]);
    const home = makeHome([
      {
        schema: 1,
        id,
        name: 'Two-factor facility',
        hub: { url: hub.url },
        ssh: otpSshd.profileSsh(),
        classes: [{ id: 'small', label: 'Small', userOptions: { [hub.classKey]: 'small' } }],
      },
    ]);
    env = { ROAMLAB_HOME: home, ...keyring.env };
  });

  afterAll(async () => {
    await hub?.stop();
    await otpSshd?.stop();
  });

  it('asks for the password, then the code, both hidden; a wrong code is asked for again', async () => {
    const wrong = otpSshd.otp!.wrong();
    const right = otpSshd.otp!.next();
    const r = await runCliInTerminal(['login', id, '--user', user], env, [
      { expect: /Password for dora at Two-factor facility: /, send: hub.password },
      { expect: /asks for more than the key\.[\s\S]*One-time password \(OATH\) for `root': /, send: wrong },
      { expect: /did not accept that; try again\.[\s\S]*One-time password \(OATH\) for `root': /, send: right },
    ], 60_000);
    expect(r.output).toContain(`Signed in to Two-factor facility as ${user}`);
    expect(r.code).toBe(0);
    // Nothing typed shows on the terminal, and nothing of it is kept.
    for (const secret of [hub.password, wrong, right]) expect(r.output).not.toContain(secret);
    expect(await keychainEntry(`${id}/token/${user}`).getPassword()).toMatch(/^[A-Za-z0-9]{20,}$/);
  });

  it('start asks for a code to connect, and again when the gateway comes back after a drop; then the session is back', async () => {
    const ready = /"name":"ready"/;
    const r = await runCliInTerminal(
      ['start', id, '--class', 'small', '--json'],
      env,
      [
        { expect: /One-time password \(OATH\) for `root': /, send: otpSshd.otp!.next() },
        // Ready: now the gateway restarts (every SSH connection to it ends).
        { expect: ready, then: () => otpSshd.restart() },
        { expect: /"name":"reconnecting"[\s\S]*One-time password \(OATH\) for `root': /, send: otpSshd.otp!.next() },
        // Back, with how long it was away; Ctrl-C ends the tunnel and leaves the server running.
        { expect: /"name":"ready"[^\n]*"downForMs"/, send: '\u0003', raw: true },
      ],
      240_000,
    );
    expect(r.code, r.output).toBe(0);
    const states = [...r.output.matchAll(/"name":"([a-z]+)"/g)].map((m) => m[1]);
    const back = states.lastIndexOf('ready');
    expect(states.filter((n) => n === 'ready')).toHaveLength(2);
    expect(states.slice(states.indexOf('ready') + 1, back)).toEqual(expect.arrayContaining(['degraded', 'reconnecting']));
    // Ended only by the Ctrl-C after it was back.
    expect(states.slice(0, back)).not.toContain('ended');
    const model = (await (await hubApi(hub, 'GET', `users/${user}`)).json()) as { servers: Record<string, { ready: boolean }> };
    expect(model.servers['']?.ready).toBe(true);
  }, 300_000);

  it("while start runs, other commands share its connection (no code asked, no terminal needed) through a socket only the user can open; it goes with start", async () => {
    const run = path.join(env.ROAMLAB_HOME!, 'run');
    const sockets = () => readdirSync(run).filter((f) => f.endsWith('.sock'));
    let during: Awaited<ReturnType<typeof runCli>> | undefined;
    let modes: number[] = [];
    const r = await runCliInTerminal(
      ['start', id, '--class', 'small', '--json'],
      env,
      [
        { expect: /One-time password \(OATH\) for `root': /, send: otpSshd.otp!.next() },
        {
          expect: /"name":"ready"/,
          then: async () => {
            // Offered once start has it ready (just after the state line).
            await until(() => existsSync(run) && sockets().length > 0, 10_000, 'the socket');
            modes = [statSync(run).mode & 0o777, ...sockets().map((f) => statSync(path.join(run, f)).mode & 0o777)];
            // No terminal: had it needed its own connection, the gateway's code could not be asked.
            during = await runCli(['status', id, '--json'], env);
          },
          send: '\u0003',
          raw: true,
        },
      ],
      240_000,
    );
    expect(r.code, r.output).toBe(0);
    expect(r.output.split('One-time password').length - 1).toBe(1);
    expect(modes).toEqual([0o700, 0o600]);
    expect(during!.stderr).toBe('');
    expect(during!.code).toBe(0);
    expect(JSON.parse(during!.stdout)).toMatchObject({ facility: id, user, servers: [expect.objectContaining({ name: '', ready: true })] });
    // start has ended: its socket with it, and a command on its own needs the code again.
    expect(sockets()).toEqual([]);
    const after = await runCli(['status', id], env);
    expect(after.code).toBe(3);
    expect(after.stderr).toContain('there is no terminal to ask on');
  }, 300_000);

  it('Ctrl-C at the code a reconnect asks for ends the session there, not asked again at every retry', async () => {
    const r = await runCliInTerminal(
      ['start', id, '--class', 'small', '--json'],
      env,
      [
        { expect: /One-time password \(OATH\) for `root': /, send: otpSshd.otp!.next() },
        { expect: /"name":"ready"/, then: () => otpSshd.restart() },
        { expect: /"name":"reconnecting"[\s\S]*One-time password \(OATH\) for `root': /, send: '\u0003', raw: true },
      ],
      240_000,
    );
    expect(r.code, r.output).toBe(130);
    expect(r.output).toContain(`Signing in to the SSH gateway 127.0.0.1:${otpSshd.port} was cancelled.`);
    // Asked once on the way back, not again.
    expect(r.output.split('One-time password').length - 1).toBe(2);
    expect([...r.output.matchAll(/"name":"([a-z]+)"/g)].map((m) => m[1]).at(-1)).toBe('ended');
  }, 300_000);

  it('a code not typed before the gateway gives up (LoginGraceTime): the question goes, and the error says why', async () => {
    const impatient = await startSshd({ otp: {}, extraConfig: ['LoginGraceTime 3'] });
    try {
      const home = makeHome([
        {
          schema: 1,
          id: 'impatient',
          name: 'Impatient gateway',
          hub: { url: hub.url },
          ssh: impatient.profileSsh(),
          classes: [{ id: 'small', label: 'Small', userOptions: { [hub.classKey]: 'small' } }],
        },
      ]);
      // Nobody types: the turn only waits for the question, and sends nothing.
      const r = await runCliInTerminal(['login', 'impatient', '--user', user], { ...env, ROAMLAB_HOME: home }, [
        { expect: /Password for dora at Impatient gateway: /, send: hub.password },
        { expect: /One-time password \(OATH\) for `root': / },
      ], 60_000);
      expect(r.output).toMatch(/One-time password \(OATH\) for `root': {2}\(no longer needed\)\r?\n/);
      expect(r.output).toContain(`The SSH gateway 127.0.0.1:${impatient.port} closed the connection while Roamlab was asking you for the code or password it wants.`);
      expect(r.output).toContain('SSH servers wait only a minute or two for a sign-in. Try again, and answer when asked.');
      expect(r.code).not.toBe(0);
    } finally {
      await impatient.stop();
    }
  }, 90_000);

  it('with no terminal to ask on, says what the gateway asks for and where to answer it', async () => {
    const r = await runCli(['status', id], env);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`The SSH gateway 127.0.0.1:${otpSshd.port} asks user "${otpSshd.user}" for "One-time password (OATH) for \`root':", and there is no terminal to ask on.`);
    expect(r.stderr).toContain('Run the command in a terminal');
  });
});

describe('refusals that need no hub', () => {
  it('refuses to sign in when no Secret Service answers, instead of keeping secrets somewhere weaker', async () => {
    // A session bus with no keyring on it: @napi-rs/keyring would otherwise fall back to keyutils.
    const bus = spawn('dbus-daemon', ['--session', '--nofork', '--print-address=1'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const address = await new Promise<string>((resolve) => bus.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim())));
      const home = makeHome([{ schema: 1, id: 'nokeyring', name: 'No keyring', hub: { url: 'http://127.0.0.1:9/' }, classes: [] }]);
      const r = await runCli(['login', 'nokeyring', '--user', 'x', '--password-stdin'], { ROAMLAB_HOME: home, DBUS_SESSION_BUS_ADDRESS: address }, 'pw');
      expect(r.code).toBe(7);
      expect(r.stderr).toMatch(/No Secret Service keychain answered/);
      expect(r.stderr).toMatch(/unlock it/);
    } finally {
      bus.kill();
    }
  });

  it('refuses a changed SSH host key and shows both fingerprints', async () => {
    const home = makeHome();
    const known = path.join(home, 'known_hosts');
    // A different ed25519 key on record for the gateway's address.
    writeFileSync(known, `[127.0.0.1]:${sshd.port} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGb0RtP3Wc1a6lIXxQEK4mMNdR3d6iGm9dXKpT2ZzYl1\n`);
    const profile = path.join(home, 'p.json');
    writeFileSync(profile, JSON.stringify({ schema: 1, id: 'changed', name: 'Changed key', hub: { url: 'http://127.0.0.1:9/' }, ssh: sshd.profileSsh({ knownHostsFile: known }), classes: [] }));
    const r = await runCli(['login', 'changed', '--facility-file', profile, '--user', 'x', '--password-stdin'], { ROAMLAB_HOME: home, ...keyring.env }, 'pw');
    expect(r.code).toBe(6);
    expect(r.stderr).toContain(sshd.hostKeyFingerprint);
    expect(r.stderr).toMatch(/SHA256:[A-Za-z0-9+/]{43}/g);
    expect(r.stderr.match(/SHA256:[A-Za-z0-9+/]{43}/g)!.length).toBeGreaterThanOrEqual(2);
  });

  it('makes, lists and removes bookmarks offline; resuming one says why it cannot and keeps it', async () => {
    const home = makeHome([
      {
        schema: 1,
        id: 'far',
        name: 'Far away facility',
        hub: { url: 'http://127.0.0.1:9/' },
        ssh: { host: '127.0.0.1', port: 9, user: 'x', identityFile: sshd.identityFile, knownHostsFile: sshd.knownHostsFile },
        classes: [{ id: 'big', label: 'Big', memoryGB: 48, cores: 2, runtimeHours: 3, userOptions: { profile: 'big' } }],
      },
    ]);
    const e = { ROAMLAB_HOME: home, ...keyring.env };
    const add = await runCli(['bookmark', 'add', 'far', '--class', 'big', '--name', 'Beamtime P11', '--place', 'beamtime/run42.ipynb'], e);
    expect(add.code).toBe(0);
    expect(add.stdout).toContain('roamlab resume "Beamtime P11"');
    const twice = await runCli(['bookmark', 'add', 'far', '--class', 'big', '--name', 'beamtime p11'], e);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toMatch(/exists already/);
    const list = await runCli(['bookmarks'], e);
    expect(list.stdout).toMatch(/Beamtime P11\s+far · big · beamtime\/run42\.ipynb/);
    writeFileSync(path.join(home, 'state.json'), JSON.stringify({ version: 1, facilities: { far: { username: 'x', rememberPassword: true } } }));
    const resumed = await runCli(['resume', 'Beamtime P11'], e);
    expect(resumed.code).toBe(5); // the gateway is not there: says so
    expect(resumed.stderr).toMatch(/Cannot reach the SSH gateway 127\.0\.0\.1:9/);
    expect((await runCli(['bookmarks'], e)).stdout).toContain('Beamtime P11');
    const rm = await runCli(['bookmark', 'remove', 'beamtime p11'], e);
    expect(rm.code).toBe(0);
    expect((await runCli(['bookmarks'], e)).stdout).toMatch(/No bookmarks yet/);
  });

  it('names the file, field and expectation of a broken profile', async () => {
    const home = makeHome();
    const profile = path.join(home, 'broken.json');
    writeFileSync(profile, JSON.stringify({ schema: 1, id: 'broken', name: 'B', hub: { url: 'https://hub.example.org/' }, classes: [{ id: 'm', label: 'M', cores: 'two', userOptions: { profile: 'm' } }] }));
    const r = await runCli(['classes', 'broken', '--facility-file', profile], { ROAMLAB_HOME: home, ...keyring.env });
    expect(r.code).toBe(8);
    expect(r.stderr).toContain(profile);
    expect(r.stderr).toMatch(/classes\[0\]\.cores: expected number/);
  });
});

/**
 * The network-namespace rig (test/rig/netns.ts) itself, with real parts: sshd and JupyterHub 5.2
 * run in the rig's namespace; this process (the "laptop", root namespace) reaches them over the
 * faultable lan link through OpenSSH and ssh2, and the hub's admin API over the admin link.
 * Proves each fault does what the roaming tests will rely on: link down (EHOSTUNREACH at once,
 * nothing leaves through the default route), silent drop (connects time out, nothing refuses),
 * sshd restart (same host key), hub restart (servers keep running), and that close() leaves
 * nothing behind.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chrootReady, type RigHub } from '../rig/hubs';
import { createNetRig, type NetRig } from '../rig/netns';
import { freePort } from '../rig/ports';
import type { RigSshd } from '../rig/sshd';

const PREFIX = '/jhub/';

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** One TCP connect attempt: 'ok', 'timeout' or the error code, and how long it took. */
function tcpConnect(host: string, port: number, timeoutMs: number): Promise<{ result: string; ms: number }> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const s = net.connect({ host, port });
    const done = (result: string) => {
      s.destroy();
      resolve({ result, ms: Date.now() - t0 });
    };
    s.setTimeout(timeoutMs, () => done('timeout'));
    s.once('connect', () => done('ok'));
    s.once('error', (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
  });
}

function run(cmd: string, args: string[], timeoutMs = 10_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : null) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

function sshArgs(sshd: RigSshd): string[] {
  return [
    '-F', '/dev/null',
    '-o', 'BatchMode=yes',
    '-o', 'StrictHostKeyChecking=yes',
    '-o', `UserKnownHostsFile=${sshd.knownHostsFile}`,
    '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', 'ConnectTimeout=5',
    '-i', sshd.identityFile,
    '-p', String(sshd.port),
  ];
}

/** GET url, with a timeout; resolves with the status, or the error's message. */
async function get(url: string, timeoutMs: number, token?: string): Promise<{ status: number; body: string } | string> {
  try {
    const res = await fetch(url, {
      signal: AbortSignal.timeout(timeoutMs),
      headers: token ? { Authorization: `token ${token}` } : {},
    });
    return { status: res.status, body: await res.text() };
  } catch (err) {
    return (err as Error).message;
  }
}

/** Is pid a live process (not gone, not a zombie awaiting its parent's wait())? */
function running(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

interface ServerModel {
  ready: boolean;
  started: string;
  state?: { pid?: number };
}

describe('network-namespace rig: sshd and JupyterHub 5.2 behind a faultable link', () => {
  let rig: NetRig;
  let sshd: RigSshd;
  let hub: RigHub;
  let tunnel: ChildProcess | undefined;
  let tunnelPort: number;
  const numbers: Record<string, number> = {};

  beforeAll(async () => {
    expect(chrootReady(), 'the Debian 13 chroot is missing: run test/rig/setup.sh (as root)').toBe(true);
    rig = await createNetRig();
    [sshd, hub] = await Promise.all([rig.startSshd(), rig.startHub({ flavor: 'jh5', prefix: PREFIX, startTimeoutMs: 60_000 })]);
  }, 90_000);

  afterAll(async () => {
    tunnel?.kill('SIGKILL');
    await rig?.close();
    console.log(`netns rig numbers: ${JSON.stringify(numbers)}`);
  }, 60_000);

  /** `ssh -N -L` from this namespace to sshd over the lan link, forwarding to the hub's 127.0.0.1:port. */
  async function openTunnel(): Promise<void> {
    tunnelPort = await freePort();
    tunnel = spawn(
      '/usr/bin/ssh',
      [
        ...sshArgs(sshd),
        '-N',
        '-o', 'ExitOnForwardFailure=yes',
        '-L', `127.0.0.1:${tunnelPort}:127.0.0.1:${hub.port}`,
        `${sshd.user}@${rig.serverIp}`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    tunnel.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const deadline = Date.now() + 15_000;
    while ((await tcpConnect('127.0.0.1', tunnelPort, 500)).result !== 'ok') {
      if (tunnel.exitCode !== null || Date.now() > deadline) throw new Error(`ssh -L did not come up: ${stderr}`);
      await sleep(50);
    }
  }

  it('puts the server side in its own namespace, reached over the lan and admin links', async () => {
    expect(rig.ns).toMatch(/^roamlab-\d{1,3}$/);
    expect(rig.serverIp).toBe(`10.77.${rig.index}.2`);
    expect(rig.adminIp).toBe(`10.78.${rig.index}.2`);
    expect(rig.hostLanIf.length).toBeLessThanOrEqual(15);
    const addrs = await rig.exec(['/usr/sbin/ip', '-4', '-o', 'addr', 'show']);
    expect(addrs.code).toBe(0);
    expect(addrs.stdout).toContain(`inet ${rig.serverIp}/24`);
    expect(addrs.stdout).toContain(`inet ${rig.adminIp}/24`);
    expect(addrs.stdout).toMatch(/lo\s+inet 127\.0\.0\.1\/8/);
    // sshd and the hub run in there, not here.
    expect(sshd.host).toBe(rig.serverIp);
    expect(sshd.netns).toBe(rig.ns);
    expect(rig.pids()).toContain(sshd.pid);
    expect(fs.readFileSync(sshd.knownHostsFile, 'utf8')).toMatch(new RegExp(`^\\[${rig.serverIp.replace(/\./g, '\\.')}\\]:${sshd.port} ssh-ed25519 `));
    expect(hub.url).toBe(`http://127.0.0.1:${hub.port}${PREFIX}`);
    expect(hub.adminUrl).toBe(`http://${rig.adminIp}:${hub.port}${PREFIX}`);
    expect(hub.version.startsWith('5.')).toBe(true);
    const cmdlines = rig.pids().map((pid) => {
      try {
        return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      } catch {
        return '';
      }
    });
    expect(cmdlines.some((c) => c.includes('/usr/bin/jupyterhub -f'))).toBe(true);
    expect(cmdlines.some((c) => c.includes('configurable-http-proxy'))).toBe(true);
  });

  it('(1) the hub answers GET {prefix}hub/api through an SSH local forward over the lan link', async () => {
    await openTunnel();
    const res = await get(`http://127.0.0.1:${tunnelPort}${PREFIX}hub/api`, 5000);
    expect(res).toMatchObject({ status: 200 });
    expect(JSON.parse((res as { body: string }).body)).toEqual({ version: hub.version });
  }, 30_000);

  it('(2)+(5) linkDown: new connects fail at once (no route, nothing leaves by the default route), the admin URL still works; linkUp restores', async () => {
    await rig.linkDown();
    expect(rig.linkIsUp).toBe(false);
    const down = await tcpConnect(rig.serverIp, sshd.port, 3000);
    expect(down.result).toBe('EHOSTUNREACH');
    expect(down.ms).toBeLessThan(1000);
    // The rig's fallback route catches the subnet: `ip route get` refuses instead of naming eth0.
    const route = await run('/usr/sbin/ip', ['route', 'get', rig.serverIp]);
    expect(route.code).not.toBe(0);
    expect(route.stderr).toMatch(/No route to host|unreachable/i);
    // (5) the admin link is untouched.
    const admin = await get(`${hub.adminUrl}hub/api`, 5000);
    expect(admin).toMatchObject({ status: 200 });
    await sleep(1500); // a short outage for the running tunnel

    const t0 = Date.now();
    await rig.linkUp();
    numbers.linkUpMs = Date.now() - t0;
    let first: { result: string; ms: number };
    do {
      first = await tcpConnect(rig.serverIp, sshd.port, 1000);
    } while (first.result !== 'ok' && Date.now() - t0 < 10_000);
    numbers.sshdReachableAfterLinkUpMs = Date.now() - t0;
    expect(first.result).toBe('ok');
    expect(rig.linkIsUp).toBe(true);
    expect(numbers.sshdReachableAfterLinkUpMs).toBeLessThan(2000);
    const route2 = await run('/usr/sbin/ip', ['-o', 'route', 'get', rig.serverIp]);
    expect(route2.stdout).toContain(`dev ${rig.hostLanIf}`);

    // The ssh -L tunnel that was open across the outage still forwards (TCP retransmitted).
    const t1 = Date.now();
    const through = await get(`http://127.0.0.1:${tunnelPort}${PREFIX}hub/api`, 15_000);
    numbers.tunnelAnswersAfterLinkUpMs = Date.now() - t1;
    expect(through).toMatchObject({ status: 200 });
    expect(tunnel?.exitCode).toBeNull();
  }, 40_000);

  it('(3) dropOn: packets vanish (connects time out, even to a closed port: no RST, no ICMP); an ssh2 session outlives a short drop; dropOff restores', async () => {
    const client = new Client();
    await new Promise<void>((resolve, reject) => {
      client.once('ready', resolve).once('error', reject);
      client.connect({
        host: rig.serverIp,
        port: sshd.port,
        username: sshd.user,
        privateKey: fs.readFileSync(sshd.identityFile),
        readyTimeout: 5000,
        keepaliveInterval: 0, // no keepalive: ssh2 waits for TCP, which retransmits
      });
    });
    const execOnce = (cmd: string, timeoutMs: number) =>
      new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`exec ${cmd}: no answer in ${timeoutMs} ms`)), timeoutMs);
        client.exec(cmd, (err, stream) => {
          if (err) {
            clearTimeout(timer);
            reject(err);
            return;
          }
          let out = '';
          stream.on('data', (d: Buffer) => (out += d.toString()));
          stream.on('close', () => {
            clearTimeout(timer);
            resolve(out.trim());
          });
        });
      });
    let closed = false;
    client.on('close', () => (closed = true));
    client.on('error', () => undefined);
    try {
      expect(await execOnce('echo before', 5000)).toBe('before');

      await rig.dropOn();
      await rig.dropOn(); // idempotent
      expect(rig.dropping).toBe(true);
      const [open, closedPort] = await Promise.all([
        tcpConnect(rig.serverIp, sshd.port, 2000),
        tcpConnect(rig.serverIp, 1, 2000), // would be ECONNREFUSED (RST) without the drop
      ]);
      expect(open.result).toBe('timeout');
      expect(closedPort.result).toBe('timeout');
      // The session's command goes out now and is only answered once packets flow again.
      const during = execOnce('echo during', 20_000);
      during.catch(() => undefined);
      // The admin link is not affected.
      expect(await get(`${hub.adminUrl}hub/api`, 5000)).toMatchObject({ status: 200 });
      await sleep(500);

      const t0 = Date.now();
      await rig.dropOff();
      await rig.dropOff(); // idempotent
      expect(rig.dropping).toBe(false);
      expect((await tcpConnect(rig.serverIp, sshd.port, 2000)).result).toBe('ok');
      expect((await tcpConnect(rig.serverIp, 1, 2000)).result).toBe('ECONNREFUSED');
      expect(await during).toBe('during');
      numbers.ssh2ExecAnsweredAfterDropOffMs = Date.now() - t0;
      expect(closed).toBe(false);
    } finally {
      client.end();
    }
  }, 40_000);

  it('(4) sshd restart keeps the host key: the same known_hosts still verifies it', async () => {
    const pid = sshd.pid;
    // Restarted while the lan link is down: its readiness check runs inside the namespace.
    await rig.linkDown();
    await sshd.restart();
    await rig.linkUp();
    expect(sshd.pid).not.toBe(pid);
    expect(rig.pids()).toContain(sshd.pid);
    const ok = await run('/usr/bin/ssh', [...sshArgs(sshd), `${sshd.user}@${rig.serverIp}`, 'echo', 'same-key'], 15_000);
    expect(ok.stderr).not.toMatch(/REMOTE HOST IDENTIFICATION HAS CHANGED/);
    expect(ok.code).toBe(0);
    expect(ok.stdout.trim()).toBe('same-key');
    const scan = await run('/usr/bin/ssh-keyscan', ['-t', 'ed25519', '-p', String(sshd.port), rig.serverIp]);
    const scanned = scan.stdout.split('\n').find((l) => l.includes('ssh-ed25519'))?.split(/\s+/)[2];
    const known = fs.readFileSync(sshd.knownHostsFile, 'utf8').trim().split(/\s+/)[2];
    expect(scanned).toBe(known);
    // The old tunnel's connection died with the restart; a new one works.
    tunnel?.kill('SIGKILL');
    await openTunnel();
    expect(await get(`http://127.0.0.1:${tunnelPort}${PREFIX}hub/api`, 5000)).toMatchObject({ status: 200 });
  }, 40_000);

  it('hub restart: hub and proxy go away and come back on the same URL; the running server keeps running', async () => {
    const api = (method: string, p: string, body?: unknown) =>
      fetch(`${hub.adminUrl}hub/api/${p}`, {
        method,
        headers: { Authorization: `token ${hub.adminToken}`, 'Content-Type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
    const server = async (): Promise<ServerModel | undefined> => {
      const res = await api('GET', 'users/alice');
      const user = (await res.json()) as { servers?: Record<string, ServerModel> };
      return user.servers?.[''];
    };
    expect((await api('POST', 'users/alice')).status).toBe(201);
    expect([201, 202]).toContain((await api('POST', 'users/alice/server', { [hub.classKey]: 'small' })).status);
    const deadline = Date.now() + 40_000;
    let before = await server();
    while (!before?.ready && Date.now() < deadline) {
      await sleep(250);
      before = await server();
    }
    expect(before?.ready).toBe(true);
    const serverPid = before?.state?.pid;
    expect(typeof serverPid).toBe('number');

    numbers.hubRestartDownMs = await hub.restart();
    const after = await server();
    expect(after).toMatchObject({ ready: true, started: before?.started, state: { pid: serverPid } });
    expect(rig.pids()).toContain(serverPid);
    // Through the SSH tunnel the facility profile would use: the hub and the same server.
    expect(await get(`http://127.0.0.1:${tunnelPort}${PREFIX}hub/api`, 5000)).toMatchObject({ status: 200 });
    const status = await get(`http://127.0.0.1:${tunnelPort}${PREFIX}user/alice/api/status`, 10_000, hub.adminToken);
    expect(status).toMatchObject({ status: 200 });
  }, 60_000);

  it('(6) close() leaves no namespace, veth, nft table, route or process behind', async () => {
    await rig.dropOn(); // a table to clean up in each namespace
    const pids = rig.pids();
    expect(pids.length).toBeGreaterThanOrEqual(3); // sshd, hub, proxy, server...
    tunnel?.kill('SIGKILL');
    const t0 = Date.now();
    await rig.close();
    numbers.closeMs = Date.now() - t0;
    await rig.close(); // idempotent
    expect(fs.existsSync(`/run/netns/${rig.ns}`)).toBe(false);
    expect((await run('/usr/sbin/ip', ['netns', 'list'])).stdout).not.toMatch(new RegExp(`\\b${rig.ns}\\b`));
    expect(fs.existsSync(`/sys/class/net/${rig.hostLanIf}`)).toBe(false);
    expect(fs.existsSync(`/sys/class/net/${rig.hostAdminIf}`)).toBe(false);
    expect((await run('/usr/sbin/nft', ['list', 'tables'])).stdout).not.toContain(`roamlab_drop_${rig.index}`);
    const routes = (await run('/usr/sbin/ip', ['-4', 'route', 'show', 'table', 'all'])).stdout;
    expect(routes).not.toContain(`10.77.${rig.index}.`);
    expect(routes).not.toContain(`10.78.${rig.index}.`);
    const alive = pids.filter(running);
    expect(alive).toEqual([]);
    await expect(rig.linkDown()).rejects.toThrow(/after close/);
  }, 60_000);
});

describe('network-namespace rig: several at once, and leftovers of a killed process', () => {
  const repoRoot = path.resolve(__dirname, '../..');
  const netnsModule = path.resolve(__dirname, '../rig/netns.ts');

  /** A child process that creates a rig, prints its namespace and then just waits. */
  async function childWithRig(): Promise<{ child: ChildProcess; ns: string; hostLanIf: string }> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roamlab-netns-child-'));
    const script = path.join(dir, 'child.ts');
    fs.writeFileSync(
      script,
      `import { createNetRig } from ${JSON.stringify(netnsModule)};\n` +
        `createNetRig().then((r) => { console.log(JSON.stringify({ ns: r.ns, hostLanIf: r.hostLanIf })); setInterval(() => undefined, 1000); });\n`,
    );
    // node itself with tsx's loader (not the tsx CLI, whose extra node process would outlive a SIGKILL).
    const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolve(out.split('\n')[0]!);
      });
      child.once('exit', (code) => reject(new Error(`child exited (${code}) before making a rig`)));
    });
    fs.rmSync(dir, { recursive: true, force: true });
    return { child, ...(JSON.parse(line) as { ns: string; hostLanIf: string }) };
  }

  function exited(child: ChildProcess): Promise<void> {
    return new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
  }

  it('gives two rigs of one process different namespaces, names and subnets', async () => {
    const [a, b] = await Promise.all([createNetRig(), createNetRig()]);
    try {
      expect(a.ns).not.toBe(b.ns);
      expect(a.serverIp).not.toBe(b.serverIp);
      expect(a.hostLanIf).not.toBe(b.hostLanIf);
      // Each reaches only its own namespace: a listener in b is not in a.
      const srv = b.spawn(['/usr/bin/python3', '-c', `import socket,time\ns=socket.socket();s.bind(('${b.serverIp}',2222));s.listen();print('up',flush=True);time.sleep(30)`], {
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      await new Promise((r) => srv.stdout?.once('data', r));
      expect((await tcpConnect(b.serverIp, 2222, 2000)).result).toBe('ok');
      expect((await tcpConnect(a.serverIp, 2222, 2000)).result).toBe('ECONNREFUSED');
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
    expect(fs.existsSync(`/run/netns/${a.ns}`)).toBe(false);
    expect(fs.existsSync(`/run/netns/${b.ns}`)).toBe(false);
  }, 30_000);

  it('cleans up on SIGTERM, and a later createNetRig() removes the rig of a SIGKILLed process', async () => {
    const termed = await childWithRig();
    expect(fs.existsSync(`/run/netns/${termed.ns}`)).toBe(true);
    termed.child.kill('SIGTERM');
    await exited(termed.child);
    expect(fs.existsSync(`/run/netns/${termed.ns}`)).toBe(false);
    expect(fs.existsSync(`/sys/class/net/${termed.hostLanIf}`)).toBe(false);

    const killed = await childWithRig();
    killed.child.kill('SIGKILL');
    await exited(killed.child);
    expect(fs.existsSync(`/run/netns/${killed.ns}`)).toBe(true); // nothing ran on SIGKILL
    const rig = await createNetRig();
    await rig.close();
    expect(fs.existsSync(`/run/netns/${killed.ns}`)).toBe(false);
    expect(fs.existsSync(`/sys/class/net/${killed.hostLanIf}`)).toBe(false);
  }, 30_000);
});

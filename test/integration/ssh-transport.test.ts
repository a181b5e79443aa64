import { execFileSync } from 'node:child_process';
import { promises as fsp, readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { expectKind } from './helpers/errors';
import { HubClient } from '../../electron/core/hub/hub-client';
import { fingerprintSha256 } from '../../electron/core/transport/known-hosts';
import { openSshTransport, type OpenSshTransportOptions } from '../../electron/core/transport/ssh-transport';
import type { HubTransport } from '../../electron/core/transport/transport';
import { freePort } from '../rig/ports';
import { childPids, startSshd, type RigSshd } from '../rig/sshd';
import { startNginx } from '../rig/nginx';
import { startSlowLink } from '../rig/slow-link';
import { makeTestCa } from '../rig/tls';
import { startSshAgent, type RigSshAgent } from '../rig/ssh-agent';

let rig: RigSshd;
let hub: http.Server;
let hubPort: number;
let hubConnections = 0;
let tlsHub: https.Server;
let tlsPort: number;
let caFile: string;
const open: HubTransport[] = [];

function get(url: string, agent: http.Agent, extra: https.RequestOptions = {}): Promise<{ status: number; body: string }> {
  const mod = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.get(url, { agent, ...extra }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`no answer in ${String(extra.timeout)} ms`)));
  });
}

function hubOpenConnections(): Promise<number> {
  return new Promise((resolve, reject) => hub.getConnections((e, n) => (e ? reject(e) : resolve(n))));
}

function sshOpts(over: Partial<OpenSshTransportOptions['ssh']> = {}): OpenSshTransportOptions['ssh'] {
  return rig.profileSsh(over);
}

async function connect(o: Partial<OpenSshTransportOptions> = {}): Promise<HubTransport> {
  const t = await openSshTransport({ hubUrl: new URL(`http://127.0.0.1:${hubPort}/hub/`), ssh: sshOpts(), ...o });
  open.push(t);
  return t;
}

async function waitFor(cond: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const TICKS = 30;

beforeAll(async () => {
  rig = await startSshd();
  hub = http.createServer((req, res) => {
    res.setHeader('content-type', 'text/plain');
    if (req.url === '/hub/ticks') {
      // Streamed output, the way a kernel's messages arrive: a small write every 5 ms, each
      // stamped with the time it was written.
      let n = 0;
      const t = setInterval(() => {
        res.write(`${performance.now() + performance.timeOrigin}\n`);
        if (++n === TICKS) {
          clearInterval(t);
          res.end();
        }
      }, 5);
      return;
    }
    if (req.url === '/hub/drip') {
      // A line every 300 ms for 4.5 s: traffic that keeps the link busy without a keepalive.
      let n = 0;
      const t = setInterval(() => {
        res.write(`line ${++n}\n`);
        if (n === 15) {
          clearInterval(t);
          res.end();
        }
      }, 300);
      return;
    }
    res.end(`hub says ${req.method} ${req.url}`);
  });
  hub.on('connection', () => hubConnections++);
  // A raw Connection: Upgrade echo, the shape of a WebSocket handshake without the framing.
  hub.on('upgrade', (req, socket: Duplex, head: Buffer) => {
    socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n');
    if (head.length) socket.write(head);
    socket.pipe(socket);
  });
  await new Promise<void>((r) => hub.listen(0, '127.0.0.1', r));
  hubPort = (hub.address() as AddressInfo).port;

  // A TLS hub named "localhost", signed by a throwaway CA that stands in for the OS's store.
  const ca = await makeTestCa(rig.dir);
  caFile = ca.caFile;
  tlsHub = https.createServer({ key: readFileSync(ca.keyFile), cert: readFileSync(ca.certFile) }, (req, res) =>
    res.end(`tls hub says ${req.url}`),
  );
  await new Promise<void>((r) => tlsHub.listen(0, '127.0.0.1', r));
  tlsPort = (tlsHub.address() as AddressInfo).port;
});

afterAll(async () => {
  await Promise.all(open.map((t) => t.close()));
  hub?.closeAllConnections();
  tlsHub?.closeAllConnections();
  await new Promise((r) => hub?.close(r));
  await new Promise((r) => tlsHub?.close(r));
  await rig?.stop();
});

describe('tunnel', () => {
  it('fetches a body through the agent', async () => {
    const t = await connect();
    expect(t.describe).toBe(`ssh ${rig.user}@127.0.0.1:${rig.port}`);
    const r = await get(new URL('api/info', t.hubUrl).href, t.agent);
    expect(r).toEqual({ status: 200, body: 'hub says GET /hub/api/info' });
  });

  it('reuses connections for sequential requests', async () => {
    const t = await connect();
    await get(`http://127.0.0.1:${hubPort}/warm`, t.agent);
    const before = hubConnections;
    for (let i = 0; i < 50; i++) {
      const r = await get(`http://127.0.0.1:${hubPort}/seq/${i}`, t.agent);
      expect(r.body).toBe(`hub says GET /seq/${i}`);
    }
    expect(hubConnections - before).toBe(0);
  });

  it('serves parallel requests on separate channels', async () => {
    const t = await connect();
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => get(`http://127.0.0.1:${hubPort}/par/${i}`, t.agent)));
    expect(results.map((r) => r.body)).toEqual(Array.from({ length: 20 }, (_, i) => `hub says GET /par/${i}`));
  });

  it('opens a fresh channel after the hub closes an idle keep-alive connection', async () => {
    const brief = http.createServer((req, res) => res.end(`brief ${req.url}`));
    brief.keepAliveTimeout = 100;
    await new Promise<void>((r) => brief.listen(0, '127.0.0.1', r));
    try {
      const port = (brief.address() as AddressInfo).port;
      const t = await openSshTransport({ hubUrl: new URL(`http://127.0.0.1:${port}/`), ssh: sshOpts() });
      open.push(t);
      expect((await get(`http://127.0.0.1:${port}/1`, t.agent)).body).toBe('brief /1');
      await new Promise((r) => setTimeout(r, 400));
      expect((await get(`http://127.0.0.1:${port}/2`, t.agent)).body).toBe('brief /2');
    } finally {
      brief.closeAllConnections();
      brief.close();
    }
  });

  it('answers a request after nginx in front of the hub closed an idle connection (no Keep-Alive hint)', async () => {
    // nginx (keepalive_timeout 75 s by default) closes idle client connections without saying
    // when in a Keep-Alive header. sshd then sends the channel's EOF and no close; a request
    // written on that pooled channel went to a closed socket and got no answer and no error, ever.
    const front = await startNginx({ upstreamPort: hubPort, keepaliveTimeoutS: 1 });
    try {
      const t = await openSshTransport({ hubUrl: new URL(`http://127.0.0.1:${front.port}/hub/`), ssh: sshOpts() });
      open.push(t);
      const first = await get(`http://127.0.0.1:${front.port}/hub/one`, t.agent, { timeout: 5000 });
      expect(first).toEqual({ status: 200, body: 'hub says GET /hub/one' });
      await new Promise((r) => setTimeout(r, 1600));
      const second = await get(`http://127.0.0.1:${front.port}/hub/two`, t.agent, { timeout: 5000 });
      expect(second).toEqual({ status: 200, body: 'hub says GET /hub/two' });
    } finally {
      await front.stop();
    }
  });

  it('delivers a body that ends with the connection (no length, Connection: close) whole', async () => {
    // The channel is closed as soon as the hub side ends; the body's last bytes must still count.
    const net = await import('node:net');
    const body = Buffer.alloc(3 * 1024 * 1024, 97);
    const old = net.createServer((s) => {
      s.on('error', () => undefined);
      s.once('data', () => {
        s.write('HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n');
        s.write(body);
        s.end('END');
      });
    });
    await new Promise<void>((r) => old.listen(0, '127.0.0.1', r));
    try {
      const port = (old.address() as AddressInfo).port;
      const t = await openSshTransport({ hubUrl: new URL(`http://127.0.0.1:${port}/`), ssh: sshOpts() });
      open.push(t);
      for (let i = 0; i < 2; i++) {
        const r = await get(`http://127.0.0.1:${port}/`, t.agent, { timeout: 10_000 });
        expect(r.body.length).toBe(body.length + 3);
        expect(r.body.endsWith('aEND')).toBe(true);
      }
    } finally {
      old.close();
    }
  });

  it('passes streamed output on as it is written, without waiting on delayed ACKs', async () => {
    // sshd keeps Nagle on, so without prompt ACKs from our side the second small packet of a
    // stream waits for our kernel's delayed ACK (~40 ms): two ticks of every stream arrived
    // 30–40 ms late before the transport acknowledged idle reads itself (prompt-ack.ts).
    const t = await connect();
    const late: number[] = [];
    for (let stream = 0; stream < 3; stream++) {
      const lags = await new Promise<number[]>((resolve, reject) => {
        http
          .get({ host: '127.0.0.1', port: hubPort, path: '/hub/ticks', agent: t.agent }, (res) => {
            const got: number[] = [];
            let buf = '';
            res.on('data', (d: Buffer) => {
              const now = performance.now() + performance.timeOrigin;
              buf += d.toString();
              const lines = buf.split('\n');
              buf = lines.pop()!;
              for (const l of lines) got.push(now - Number(l));
            });
            res.on('end', () => resolve(got));
          })
          .on('error', reject);
      });
      expect(lags).toHaveLength(TICKS);
      late.push(...lags.filter((ms) => ms > 25));
    }
    // A loaded machine may delay one tick by scheduling; a delayed ACK delays two per stream.
    expect(late.length, `ticks more than 25 ms late: ${late.map((x) => x.toFixed(0)).join(', ')}`).toBeLessThanOrEqual(1);
  });

  it('carries a Connection: Upgrade exchange (WebSocket-style)', async () => {
    const t = await connect();
    const echoed = await new Promise<string>((resolve, reject) => {
      const req = http.request({
        host: '127.0.0.1',
        port: hubPort,
        path: '/user/x/api/kernels/1/channels',
        agent: t.agent,
        headers: { Connection: 'Upgrade', Upgrade: 'echo' },
      });
      req.on('upgrade', (res, socket: Duplex) => {
        expect(res.statusCode).toBe(101);
        let got = '';
        socket.on('data', (d: Buffer) => {
          got += d.toString();
          if (got.length >= 10) {
            socket.end();
            resolve(got);
          }
        });
        socket.write('ping-');
        socket.write('pong!');
      });
      req.on('error', reject);
      req.end();
    });
    expect(echoed).toBe('ping-pong!');
  });

  it('reaches an https hub with its own name, its CA in the system store, certificate checks on', async () => {
    const t = await openSshTransport({ hubUrl: new URL(`https://localhost:${tlsPort}/`), ssh: sshOpts(), trust: { systemCaFiles: [caFile] } });
    open.push(t);
    const r = await get(`https://localhost:${tlsPort}/hub/api`, t.agent);
    expect(r.body).toBe('tls hub says /hub/api');
    // A CA the system does not hold is not trusted: the check really is on.
    const u = await openSshTransport({ hubUrl: new URL(`https://localhost:${tlsPort}/`), ssh: sshOpts() });
    open.push(u);
    await expect(get(`https://localhost:${tlsPort}/again`, u.agent)).rejects.toThrow(/certificate/i);
  });

  it('reports a refused forward as a request error, not a crash', async () => {
    const deadPort = await freePort();
    const t = await openSshTransport({ hubUrl: new URL(`http://127.0.0.1:${deadPort}/`), ssh: sshOpts() });
    open.push(t);
    // sshd's own words come through, not ssh2's bare "Channel open failure" (which read as "error").
    await expect(get(`http://127.0.0.1:${deadPort}/`, t.agent)).rejects.toMatchObject({
      code: 'ECONNREFUSED',
      message: `the SSH gateway could not connect to 127.0.0.1:${deadPort} (Connection refused)`,
    });
    const viaClient = await expectKind(new HubClient({ transport: t, timeoutMs: 5000 }).whoami('unused'), 'hub-unreachable');
    expect(viaClient.message).toContain(`via ${t.describe}): the SSH gateway could not connect to 127.0.0.1:${deadPort} (Connection refused).`);
    expect(viaClient.hint).toMatch(/gateway is reachable but the hub behind it is not.*hub URL in the facility profile/);
    // The SSH connection is still usable afterwards.
    const t2 = await connect();
    expect((await get(`http://127.0.0.1:${hubPort}/after`, t2.agent)).status).toBe(200);
  });

  it.each(['PermitOpen 127.0.0.1:1', 'AllowTcpForwarding no'])('says so when the gateway does not allow tunnels to the hub (%s), with what to do', async (line) => {
    const strict = await startSshd({ extraConfig: [line] });
    try {
      const t = await openSshTransport({
        hubUrl: new URL(`http://127.0.0.1:${hubPort}/hub/`),
        ssh: strict.profileSsh(),
      });
      open.push(t);
      const err = await expectKind(new HubClient({ transport: t, timeoutMs: 5000 }).whoami('unused'), 'hub-unreachable');
      expect(err.message).toContain(`the SSH gateway does not allow tunnels to 127.0.0.1:${hubPort}.`);
      expect(err.details.code).toBe('SSH_FORWARD_PROHIBITED');
      expect(err.hint).toMatch(/refuses tunnels to this host and port/);
    } finally {
      await strict.stop();
    }
  });

  it('releases the sshd session and its channels on close()', async () => {
    const sshdPid = rig.pid!;
    // Earlier tests' transports are still open: find the session process this one adds.
    const before = new Set(childPids(sshdPid));
    const onClose = vi.fn();
    const t = await openSshTransport({ hubUrl: new URL(`http://127.0.0.1:${hubPort}/`), ssh: sshOpts(), onClose });
    await get(`http://127.0.0.1:${hubPort}/x`, t.agent);
    const mine = childPids(sshdPid).filter((p) => !before.has(p));
    expect(mine).toHaveLength(1);
    const hubSockets = await hubOpenConnections();
    await t.close();
    await t.close(); // idempotent
    await waitFor(() => !childPids(sshdPid).includes(mine[0]!));
    // The hub-side TCP connection of the forwarded channel closes too.
    await waitFor(async () => (await hubOpenConnections()) < hubSockets);
    expect(onClose).toHaveBeenCalledExactlyOnceWith('closed by Roamlab');
    await expect(get(`http://127.0.0.1:${hubPort}/y`, t.agent)).rejects.toThrow();
  });

  it('reports a dropped gateway through onClose', async () => {
    const onClose = vi.fn();
    const t = await openSshTransport({ hubUrl: new URL(`http://127.0.0.1:${hubPort}/`), ssh: sshOpts(), onClose });
    open.push(t);
    await get(`http://127.0.0.1:${hubPort}/x`, t.agent);
    await rig.restart(); // kills the listener and every session
    await waitFor(() => onClose.mock.calls.length === 1);
    expect(String(onClose.mock.calls[0]![0])).toMatch(/gateway/);
    await expect(get(`http://127.0.0.1:${hubPort}/y`, t.agent)).rejects.toThrow();
  });
});

describe('a slow link', () => {
  it('with 2 s round trips: stays up while idle, carries requests, and still notices when the link goes silent', async () => {
    // The reply to a keepalive sent after 0.8 s of silence arrives 2.8 s after the last byte:
    // a fixed limit of 0.8 s × 3 would drop this connection, and every new one, within seconds.
    const link = await startSlowLink(rig.host, rig.port, 1000);
    const lost = vi.fn();
    try {
      const t = await connect({
        ssh: sshOpts({ port: link.port, knownHostsFile: path.join(rig.dir, 'known_hosts_slow_link') }),
        confirmUnknownHostKey: () => Promise.resolve(true),
        readyTimeoutMs: 60_000,
      });
      t.onLost!(lost);
      // Traffic without pauses long enough for a keepalive, then silence: the first keepalive
      // goes out 0.8 s after the last line, and its reply comes 2 s later.
      expect((await get(`http://127.0.0.1:${hubPort}/hub/drip`, t.agent)).body.split('\n')).toHaveLength(16);
      await new Promise((r) => setTimeout(r, 5_500));
      expect(lost).not.toHaveBeenCalled();
      expect(t.rttMs).toBeGreaterThanOrEqual(1900);
      // The hub closed the idle keep-alive connection at 5 s (Keep-Alive: timeout=5), and that close
      // is still on its way: a request on that connection now would be lost. The tunnel gave it up
      // a second and a round trip early and opens a fresh channel.
      expect((await get(`http://127.0.0.1:${hubPort}/hub/slow`, t.agent, { timeout: 15_000 })).body).toBe('hub says GET /hub/slow');
      expect(link.accepted).toBe(1); // one connection all along, never a reconnect

      link.silence();
      const silentAt = Date.now();
      await waitFor(() => lost.mock.calls.length === 1, 20_000);
      expect(String(lost.mock.calls[0]![0])).toMatch(/stopped answering keepalives/);
      // One interval plus three round trips after the last byte: 6.8 s, and some scheduling.
      expect(Date.now() - silentAt).toBeLessThan(9_000);
    } finally {
      await link.close();
    }
  }, 90_000);
});

describe('connecting can be given up', () => {
  it('an abort during the handshake (a gateway that accepts but never speaks) rejects at once as cancelled, leaving no socket', async () => {
    const { createServer } = await import('node:net');
    const held: import('node:net').Socket[] = [];
    const mute = createServer((s) => {
      held.push(s);
      s.resume(); // read what comes, so the client's close is seen
      s.on('error', () => undefined);
    });
    await new Promise<void>((r) => mute.listen(0, '127.0.0.1', () => r()));
    const port = (mute.address() as AddressInfo).port;
    const ac = new AbortController();
    const t0 = Date.now();
    const p = openSshTransport({ hubUrl: new URL(`http://127.0.0.1:${hubPort}/`), ssh: sshOpts({ port }), signal: ac.signal });
    setTimeout(() => ac.abort(), 300);
    await expectKind(p, 'cancelled');
    expect(Date.now() - t0).toBeLessThan(2000); // not the 20 s handshake timeout
    await waitFor(() => held.every((s) => s.destroyed || s.readableEnded));
    for (const s of held) s.destroy();
    mute.close();
  });
});

describe('host keys', () => {
  it('refuses a changed host key and names both fingerprints', async () => {
    const file = path.join(rig.dir, 'known_hosts.changed');
    const wrong = readFileSync(path.join(rig.dir, 'id_ed25519.pub'), 'utf8').split(' ')[1]!;
    await fsp.writeFile(file, `# an old key\n[127.0.0.1]:${rig.port} ssh-ed25519 ${wrong}\n`);
    const err = await expectKind(connect({ ssh: sshOpts({ knownHostsFile: file }) }), 'host-key-changed');
    const wrongFp = fingerprintSha256(Buffer.from(wrong, 'base64'));
    expect(err.message).toContain(rig.hostKeyFingerprint);
    expect(err.message).toContain(wrongFp);
    expect(err.hint).toContain('ssh-keygen -R');
    expect(err.details).toMatchObject({ presentedFingerprint: rig.hostKeyFingerprint, expectedFingerprint: wrongFp });
  });

  it('refuses a revoked host key', async () => {
    const file = path.join(rig.dir, 'known_hosts.revoked');
    const good = readFileSync(rig.knownHostsFile, 'utf8');
    const blob = good.trim().split(' ')[2]!;
    await fsp.writeFile(file, `${good}@revoked * ssh-ed25519 ${blob}\n`);
    const err = await expectKind(connect({ ssh: sshOpts({ knownHostsFile: file }) }), 'host-key-changed');
    expect(err.details.revoked).toBe(true);
  });

  it('refuses an unknown host key unless confirmed, then remembers it', async () => {
    const file = path.join(rig.dir, 'fresh', 'known_hosts');
    const ssh = sshOpts({ knownHostsFile: file });

    const unconfirmed = await expectKind(connect({ ssh }), 'host-key-unknown');
    expect(unconfirmed.details.presentedFingerprint).toBe(rig.hostKeyFingerprint);
    expect(unconfirmed.message).toContain(rig.hostKeyFingerprint);

    const declined = vi.fn(async () => false);
    await expectKind(connect({ ssh, confirmUnknownHostKey: declined }), 'host-key-unknown');
    expect(declined).toHaveBeenCalledOnce();

    const accept = vi.fn(async () => true);
    const t = await connect({ ssh, confirmUnknownHostKey: accept });
    expect(accept).toHaveBeenCalledWith({ host: '127.0.0.1', port: rig.port, keyType: 'ssh-ed25519', fingerprint: rig.hostKeyFingerprint }, expect.any(AbortSignal));
    // Its question is withdrawn once the handshake is over (a dialog still open then would close).
    expect((accept.mock.calls[0] as unknown[])[1]).toMatchObject({ aborted: true });
    expect((await get(`http://127.0.0.1:${hubPort}/ok`, t.agent)).status).toBe(200);

    const found = execFileSync('ssh-keygen', ['-F', `[127.0.0.1]:${rig.port}`, '-f', file], { encoding: 'utf8' });
    expect(found).toMatch(new RegExp(`^\\[127\\.0\\.0\\.1\\]:${rig.port} ssh-ed25519 `, 'm'));

    const again = vi.fn(async () => true);
    await connect({ ssh, confirmUnknownHostKey: again });
    expect(again).not.toHaveBeenCalled();
  });

  it('names the @cert-authority line that trusts the gateway when asking about its plain key, and in the refusal', async () => {
    // A facility that signs its host keys: OpenSSH trusts the host through its CA; ssh2 offers no
    // certificate algorithms, so sshd presents the plain key, and the person is told why they are asked.
    const file = path.join(rig.dir, 'ca', 'known_hosts');
    await fsp.mkdir(path.dirname(file), { recursive: true });
    const caKey = readFileSync(path.join(rig.dir, 'id_ed25519.pub'), 'utf8').split(' ')[1]!;
    await fsp.writeFile(file, `# the facility's host CA\n@cert-authority [127.0.0.1]:${rig.port} ssh-ed25519 ${caKey}\n`);
    const ssh = sshOpts({ knownHostsFile: file });
    const declined = vi.fn(async () => false);
    const err = await expectKind(connect({ ssh, confirmUnknownHostKey: declined }), 'host-key-unknown');
    expect(declined).toHaveBeenCalledWith({
      host: '127.0.0.1',
      port: rig.port,
      keyType: 'ssh-ed25519',
      fingerprint: rig.hostKeyFingerprint,
      certAuthority: { file, line: 2 },
    }, expect.any(AbortSignal));
    expect(err.message).toContain(`${file} (line 2) trusts this host through a certificate authority`);
    expect(err.message).toContain(rig.hostKeyFingerprint);
  });

  it('trusts a host key from the system-wide known_hosts (a managed laptop) without asking, and names that file when it no longer matches', async () => {
    const mine = path.join(rig.dir, 'own', 'known_hosts');
    const system = path.join(rig.dir, 'ssh_known_hosts');
    await fsp.copyFile(rig.knownHostsFile, system);
    const ask = vi.fn(async () => true);
    const t = await connect({ ssh: sshOpts({ knownHostsFile: mine }), systemKnownHostsFiles: [system], confirmUnknownHostKey: ask });
    expect((await get(`http://127.0.0.1:${hubPort}/ok`, t.agent)).status).toBe(200);
    expect(ask).not.toHaveBeenCalled();
    // Nothing is copied into the person's own file: the system's stays the one source.
    expect(await fsp.readFile(mine, 'utf8').catch(() => 'absent')).toBe('absent');

    const wrong = readFileSync(path.join(rig.dir, 'id_ed25519.pub'), 'utf8').split(' ')[1]!;
    await fsp.writeFile(system, `[127.0.0.1]:${rig.port} ssh-ed25519 ${wrong}\n`);
    const err = await expectKind(connect({ ssh: sshOpts({ knownHostsFile: mine }), systemKnownHostsFiles: [system], confirmUnknownHostKey: ask }), 'host-key-changed');
    expect(err.message).toContain(`but ${system} expects ssh-ed25519 ${fingerprintSha256(Buffer.from(wrong, 'base64'))}`);
    expect(err.hint).toContain(`-f ${system} (as administrator`);
    expect(ask).not.toHaveBeenCalled();
  });
});

describe('authentication and reachability', () => {
  it('maps a wrong user to ssh-auth-failed', async () => {
    const err = await expectKind(connect({ ssh: sshOpts({ user: 'nobody-here' }) }), 'ssh-auth-failed');
    expect(err.hint).toMatch(/authorized_keys/);
  });

  it('maps a key the server does not know to ssh-auth-failed', async () => {
    const key = path.join(rig.dir, 'stranger');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
    const err = await expectKind(connect({ ssh: sshOpts({ identityFile: key }) }), 'ssh-auth-failed');
    expect(err.message).toMatch(/did not accept the key for user/);
  });

  it.each([
    [['AuthenticationMethods publickey,keyboard-interactive', 'KbdInteractiveAuthentication yes'], /accepted the key for user "\w+", then asked for a second step as well: a prompt \(a one-time code or a password\)\./],
    [['AuthenticationMethods publickey,password', 'PasswordAuthentication yes'], /accepted the key for user "\w+", then asked for a second step as well: a password\./],
    [['AuthenticationMethods keyboard-interactive', 'KbdInteractiveAuthentication yes'], /does not take keys for user "\w+"; it asks for a prompt/],
  ])('says what a gateway with %j wants beyond the key, instead of blaming the key', async (config, said) => {
    const strict = await startSshd({ extraConfig: config });
    try {
      const err = await expectKind(
        openSshTransport({
          hubUrl: new URL(`http://127.0.0.1:${hubPort}/hub/`),
          ssh: strict.profileSsh(),
        }),
        'ssh-auth-failed',
      );
      expect(err.message).toMatch(said);
      // Nobody to ask here (no answerPrompts): where someone can be asked.
      expect(err.hint).toMatch(/Sign in from the Roamlab window or a terminal, where Roamlab can ask you for it/);
      expect(err.hint).not.toMatch(/authorized_keys/);
    } finally {
      await strict.stop();
    }
  });

  it('maps a missing or garbled key file to ssh-key-unreadable', async () => {
    await expectKind(connect({ ssh: sshOpts({ identityFile: path.join(rig.dir, 'missing') }) }), 'ssh-key-unreadable');
    const junk = path.join(rig.dir, 'junk');
    await fsp.writeFile(junk, 'not a key');
    await expectKind(connect({ ssh: sshOpts({ identityFile: junk }) }), 'ssh-key-unreadable');
  });

  it('opens an encrypted key only with its passphrase', async () => {
    const key = path.join(rig.dir, 'locked');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'correct horse', '-f', key]);
    await fsp.appendFile(path.join(rig.dir, 'authorized_keys'), readFileSync(`${key}.pub`));
    const ssh = sshOpts({ identityFile: key });
    const none = await expectKind(connect({ ssh, agent: false }), 'ssh-key-unreadable');
    expect(none.details.encrypted).toBe(true);
    expect(none.message).toMatch(/No SSH agent is running/);
    expect(none.hint).toContain(`ssh-add ${key}`);
    await expectKind(connect({ ssh, passphrase: 'wrong', agent: false }), 'ssh-key-unreadable');
    const t = await connect({ ssh, passphrase: 'correct horse', agent: false });
    expect((await get(`http://127.0.0.1:${hubPort}/locked`, t.agent)).status).toBe(200);
  });

  describe('with an SSH agent (OpenSSH ssh-agent)', () => {
    let agent: RigSshAgent;
    let sock: string;
    const sshAdd = (key: string, passphrase = '') => agent.add(key, passphrase);
    const newKey = async (name: string, passphrase = '', authorize = true) => {
      const key = path.join(rig.dir, name);
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-f', key]);
      if (authorize) await fsp.appendFile(path.join(rig.dir, 'authorized_keys'), readFileSync(`${key}.pub`));
      return key;
    };

    beforeAll(async () => {
      agent = await startSshAgent(rig.dir);
      sock = agent.sock;
    });
    afterAll(() => {
      agent?.stop();
    });

    it('signs in with an encrypted key the agent holds: no passphrase asked or stored', async () => {
      const key = await newKey('agent-locked', 'tr0ub4dor');
      await sshAdd(key, 'tr0ub4dor');
      const t = await connect({ ssh: sshOpts({ identityFile: key }), agent: sock });
      expect((await get(`http://127.0.0.1:${hubPort}/via-agent`, t.agent)).status).toBe(200);
    });

    it('signs in with a key that lives only in the agent, the profile naming its .pub', async () => {
      const key = await newKey('agent-only');
      await sshAdd(key);
      await fsp.rm(key); // as with 1Password, Secretive or a hardware key: no private key file
      const t = await connect({ ssh: sshOpts({ identityFile: `${key}.pub` }), agent: sock });
      expect((await get(`http://127.0.0.1:${hubPort}/agent-only`, t.agent)).status).toBe(200);
      // The private key's name works too, as in ssh's IdentityFile: its .pub tells which agent key.
      const u = await connect({ ssh: sshOpts({ identityFile: key }), agent: sock });
      expect((await get(`http://127.0.0.1:${hubPort}/agent-only-2`, u.agent)).status).toBe(200);
    });

    it('offers only the profile\'s key from an agent holding many (sshd stops after 6 failed keys)', async () => {
      for (let i = 0; i < 7; i++) await sshAdd(await newKey(`other-${i}`, '', false));
      const key = await newKey('among-many', 'pass phrase');
      await sshAdd(key, 'pass phrase');
      expect(agent.count()).toBeGreaterThanOrEqual(9);
      const t = await connect({ ssh: sshOpts({ identityFile: key }), agent: sock });
      expect((await get(`http://127.0.0.1:${hubPort}/among-many`, t.agent)).status).toBe(200);
    });

    it('says so when the agent does not hold the key, or is not there', async () => {
      const key = await newKey('not-in-agent', 'secret words');
      const missing = await expectKind(connect({ ssh: sshOpts({ identityFile: key }), agent: sock }), 'ssh-key-unreadable');
      expect(missing.message).toMatch(/passphrase.*Your SSH agent holds \d+ key\(s\), but not this one/s);
      expect(missing.hint).toContain(`ssh-add ${key}`);
      const gone = await expectKind(connect({ ssh: sshOpts({ identityFile: key }), agent: path.join(rig.dir, 'no-agent.sock') }), 'ssh-key-unreadable');
      expect(gone.message).toMatch(/holds no keys, or did not answer/);
    });
  });

  it('maps a closed port to ssh-unreachable', async () => {
    const port = await freePort();
    const err = await expectKind(connect({ ssh: sshOpts({ port }) }), 'ssh-unreachable');
    expect(err.details.code).toBe('ECONNREFUSED');
  });

  it('maps a silent server to ssh-unreachable within readyTimeoutMs', async () => {
    const net = await import('node:net');
    const silent = net.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const port = (silent.address() as AddressInfo).port;
      const t0 = Date.now();
      await expectKind(connect({ ssh: sshOpts({ port }), readyTimeoutMs: 500 }), 'ssh-unreachable');
      expect(Date.now() - t0).toBeLessThan(3000);
    } finally {
      silent.close();
    }
  });
});

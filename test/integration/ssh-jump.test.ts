/**
 * The profile's ssh.proxyJump: the gateway reached through jump hosts, as `ssh -J` does, against
 * real OpenSSH sshds. The jump host lets tunnels through to the gateway's SSH port only
 * (PermitOpen), as a facility's bastion does, so the hub is reached through both or not at all.
 */
import { execFileSync } from 'node:child_process';
import { promises as fsp, readFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { JumpHost } from '../../electron/core/profile/proxy-jump';
import { openSshTransport, type HostKeyPrompt, type OpenSshTransportOptions } from '../../electron/core/transport/ssh-transport';
import type { HubTransport } from '../../electron/core/transport/transport';
import { freePort } from '../rig/ports';
import { childPids, startSshd, type RigSshd } from '../rig/sshd';
import { startTcpCutter } from '../rig/tcp-cutter';
import { expectKind } from './helpers/errors';
import { until } from './helpers/wait';

let gw: RigSshd;
let jump: RigSshd;
let hub: http.Server;
let hubPort: number;
/** Trusts both the jump host and the gateway. */
let knownBoth: string;
const open: HubTransport[] = [];

function pubLine(rig: RigSshd, host: string, port: number): string {
  const [type, b64] = readFileSync(`${rig.hostKeyFiles[0]}.pub`, 'utf8').trim().split(/\s+/);
  return `[${host}]:${port} ${type} ${b64}\n`;
}

function get(url: string, agent: http.Agent): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('no answer in 10 s')));
  });
}

async function connect(jumpHosts: JumpHost[], o: Partial<OpenSshTransportOptions> = {}, ssh: Partial<OpenSshTransportOptions['ssh']> = {}): Promise<HubTransport> {
  const t = await openSshTransport({
    hubUrl: new URL(`http://127.0.0.1:${hubPort}/hub/`),
    ssh: gw.profileSsh({ knownHostsFile: knownBoth, jumpHosts, ...ssh }),
    systemKnownHostsFiles: [],
    agent: false,
    ...o,
  });
  open.push(t);
  return t;
}

beforeAll(async () => {
  hub = http.createServer((req, res) => res.end(`hub says ${req.method} ${req.url}`));
  await new Promise<void>((r) => hub.listen(0, '127.0.0.1', r));
  hubPort = (hub.address() as AddressInfo).port;
  gw = await startSshd();
  // The bastion: through to the gateway's SSH port and nowhere else; DEBUG logs each tunnel.
  jump = await startSshd({ extraConfig: [`PermitOpen ${gw.host}:${gw.port}`, 'LogLevel DEBUG1'] });
  // One key signs in to both, as one facility account does.
  await fsp.appendFile(path.join(jump.dir, 'authorized_keys'), readFileSync(`${gw.identityFile}.pub`));
  knownBoth = path.join(gw.dir, 'known_both');
  await fsp.writeFile(knownBoth, pubLine(gw, gw.host, gw.port) + pubLine(jump, jump.host, jump.port));
});

afterAll(async () => {
  await Promise.all(open.map((t) => t.close()));
  hub?.closeAllConnections();
  await new Promise((r) => hub?.close(r));
  await jump?.stop();
  await gw?.stop();
});

describe('SSH gateway through a jump host (ssh.proxyJump)', () => {
  it('reaches the hub through the jump host and the gateway, and closes both connections', async () => {
    const t = await connect([{ host: jump.host, port: jump.port }]);
    expect(t.describe).toBe(`ssh ${gw.user}@${gw.host}:${gw.port} via ${gw.user}@${jump.host}:${jump.port}`);
    // Where a reconnect checks that the network is back: the bastion, not the gateway behind it.
    expect(t.linkStart).toEqual({ host: jump.host, port: jump.port });
    for (let i = 0; i < 3; i++) expect(await get(`http://127.0.0.1:${hubPort}/hub/api/${i}`, t.agent)).toEqual({ status: 200, body: `hub says GET /hub/api/${i}` });
    // The bastion carried the gateway's connection: it logged the tunnel to the gateway's port.
    const log = await fsp.readFile(jump.logFile, 'utf8');
    expect(log).toMatch(new RegExp(`direct_tcpip.*target ${gw.host.replace(/\./g, '\\.')} port ${gw.port}`));
    expect(childPids(jump.pid!).length).toBeGreaterThan(0);
    await t.close();
    // Nothing left open on the bastion (sshd ends the per-connection process when we leave).
    await until(() => childPids(jump.pid!).length === 0, 10_000, 'the bastion to end our connection', 25);
  });

  it("reaches the gateway over a ProxyCommand (the real ssh -W through the bastion), and ends the command on close", async () => {
    const proxyCommand = jump.proxyCommandThrough(gw.identityFile);
    const t = await connect([], {}, { proxyCommand });
    expect(await get(`http://127.0.0.1:${hubPort}/hub/by-command`, t.agent)).toEqual({ status: 200, body: 'hub says GET /hub/by-command' });
    expect(await fsp.readFile(jump.logFile, 'utf8')).toMatch(new RegExp(`direct_tcpip.*target ${gw.host.replace(/\./g, '\\.')} port ${gw.port}`));
    // Only the command knows where its link starts: no "is the network back?" check there.
    expect(t.linkStart).toBeNull();
    const ours = () => execFileSync('pgrep', ['-f', '--', `-W ${gw.host}:${gw.port} ${gw.user}@${jump.host}`], { encoding: 'utf8' }).trim();
    const gone = () => {
      try {
        ours();
        return false;
      } catch {
        return true;
      }
    };
    expect(ours()).not.toBe('');
    await t.close();
    await until(() => childPids(jump.pid!).length === 0, 10_000, 'the bastion to end our connection', 25);
    expect(gone()).toBe(true); // pgrep: no such process left
    // The gateway refusing the key over it is that, not the command's fault (which is ended).
    await expectKind(connect([], {}, { proxyCommand, user: 'nobody-here' }), 'ssh-auth-failed');
    await until(gone, 10_000, 'the ProxyCommand to end');
  });

  it("starts the handshake's clock at the ProxyCommand's first byte (it may ask the person first), and says when nothing comes", async () => {
    const sshW = jump.proxyCommandThrough(gw.identityFile);
    // 1.5 s before it connects (a person typing the bastion's code), against a 1 s handshake timeout.
    const t = await connect([], { readyTimeoutMs: 1000 }, { proxyCommand: `sh -c 'sleep 1.5; exec ${sshW}'` });
    expect((await get(`http://127.0.0.1:${hubPort}/hub/late`, t.agent)).status).toBe(200);
    await t.close();
    const silent = await expectKind(connect([], { proxyCommandFirstByteMs: 1500 }, { proxyCommand: 'sleep 60' }), 'ssh-unreachable');
    expect(silent.message).toMatch(/^Nothing came from 127\.0\.0\.1 through the ProxyCommand your ssh configuration gives it \(sleep …\) in [23] s\.$/);
  });

  it('goes through several jump hosts in order', async () => {
    // jump → the gateway's sshd as a second jump host → the gateway itself.
    const t = await connect([
      { host: jump.host, port: jump.port },
      { host: gw.host, port: gw.port, user: gw.user },
    ]);
    expect(t.describe).toContain(`via ${gw.user}@${jump.host}:${jump.port}, ${gw.user}@${gw.host}:${gw.port}`);
    expect(await get(`http://127.0.0.1:${hubPort}/hub/two-hops`, t.agent)).toEqual({ status: 200, body: 'hub says GET /hub/two-hops' });
    await t.close();
  });

  it('asks about an unknown jump host, naming it as such, and remembers it once accepted', async () => {
    const known = path.join(gw.dir, 'known_gateway_only');
    await fsp.writeFile(known, pubLine(gw, gw.host, gw.port));
    const asked: HostKeyPrompt[] = [];
    // Refused: nothing written, and the error names the jump host.
    const refused = await expectKind(
      connect([{ host: jump.host, port: jump.port }], { confirmUnknownHostKey: async (p) => (asked.push(p), false) }, { knownHostsFile: known }),
      'host-key-unknown',
    );
    expect(refused.message).toContain(`The SSH jump host ${jump.host}:${jump.port} is not known yet`);
    expect(refused.message).toContain(jump.hostKeyFingerprint);
    expect(asked).toEqual([expect.objectContaining({ host: jump.host, port: jump.port, jump: true, fingerprint: jump.hostKeyFingerprint })]);
    expect(readFileSync(known, 'utf8')).not.toContain(`]:${jump.port} `);
    // Accepted: written to the profile's known_hosts in OpenSSH's form; the gateway, known, is not asked about.
    asked.length = 0;
    const t = await connect([{ host: jump.host, port: jump.port }], { confirmUnknownHostKey: async (p) => (asked.push(p), true) }, { knownHostsFile: known });
    expect(asked.map((p) => p.host + ':' + p.port)).toEqual([`${jump.host}:${jump.port}`]);
    expect(readFileSync(known, 'utf8')).toContain(`[${jump.host}]:${jump.port} ssh-ed25519 `);
    expect((await get(`http://127.0.0.1:${hubPort}/hub/x`, t.agent)).status).toBe(200);
    await t.close();
  });

  it('refuses a jump host whose key changed, with both fingerprints', async () => {
    const known = path.join(gw.dir, 'known_wrong_jump');
    // The gateway's key where the jump host's should be.
    await fsp.writeFile(known, pubLine(gw, gw.host, gw.port) + pubLine(gw, jump.host, jump.port));
    const err = await expectKind(connect([{ host: jump.host, port: jump.port }], {}, { knownHostsFile: known }), 'host-key-changed');
    expect(err.message).toContain(`The host key of the SSH jump host ${jump.host}:${jump.port} has changed`);
    expect(err.details.presentedFingerprint).toBe(jump.hostKeyFingerprint);
    expect(err.details.expectedFingerprint).toBe(gw.hostKeyFingerprint);
    expect(err.details.jump).toBe(true);
  });

  it('says when the jump host does not let tunnels through to the gateway', async () => {
    const elsewhere = await freePort();
    const err = await expectKind(connect([{ host: jump.host, port: jump.port }], {}, { port: elsewhere }), 'ssh-unreachable');
    expect(err.message).toBe(`The SSH jump host ${jump.host}:${jump.port} does not allow tunnels to the SSH gateway ${gw.host}:${elsewhere}.`);
    expect(err.hint).toMatch(/Ask the facility/);
  });

  it('says when the jump host cannot reach the gateway', async () => {
    // The gateway's sshd as the jump host: it lets tunnels go anywhere, but nothing listens there.
    const closed = await freePort();
    const err = await expectKind(connect([{ host: gw.host, port: gw.port }], {}, { port: closed }), 'ssh-unreachable');
    expect(err.message).toBe(`The SSH jump host ${gw.host}:${gw.port} could not connect to the SSH gateway ${gw.host}:${closed} (ECONNREFUSED).`);
    expect(err.hint).toMatch(/reached from the jump host/);
  });

  it('says when the jump host itself cannot be reached', async () => {
    const closed = await freePort();
    const err = await expectKind(connect([{ host: '127.0.0.1', port: closed }]), 'ssh-unreachable');
    expect(err.message).toBe(`Cannot reach the SSH jump host 127.0.0.1:${closed} (ECONNREFUSED).`);
  });

  it('notices a link to the jump host that went silent, from the gateway keepalives that pass through it', async () => {
    const cutter = await startTcpCutter(jump.host, jump.port);
    try {
      const known = path.join(gw.dir, 'known_cutter');
      await fsp.writeFile(known, pubLine(gw, gw.host, gw.port) + pubLine(jump, '127.0.0.1', cutter.port));
      const t = await connect([{ host: '127.0.0.1', port: cutter.port }], {}, { knownHostsFile: known });
      expect((await get(`http://127.0.0.1:${hubPort}/hub/before`, t.agent)).status).toBe(200);
      const lost = new Promise<string>((resolve) => t.onLost!(resolve));
      const cutAt = Date.now();
      cutter.connections[0]!.silence();
      const reason = await lost;
      expect(reason).toBe('the gateway stopped answering keepalives');
      // 800 ms keepalives, lost after three unanswered (as without a jump host), with slack for a loaded machine.
      expect(Date.now() - cutAt).toBeLessThan(8000);
    } finally {
      await cutter.close();
    }
  });

  it('says the jump host was lost when its connection ends', async () => {
    const t = await connect([{ host: jump.host, port: jump.port }]);
    expect((await get(`http://127.0.0.1:${hubPort}/hub/before`, t.agent)).status).toBe(200);
    const lost = new Promise<string>((resolve) => t.onLost!(resolve));
    // The bastion ends our session (its per-connection process goes away).
    for (const pid of childPids(jump.pid!)) process.kill(pid, 'SIGTERM');
    expect(await lost).toMatch(new RegExp(`^connection to the jump host ${gw.user}@${jump.host}:${jump.port} lost`));
  });
});

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectMux, muxSocketPath, serveMux } from '../../../electron/core/transport/mux';
import type { FacilityProfile } from '../../../electron/core/profile/schema';

// The socket a running `roamlab start` shares its connection on, with a plain TCP connection to
// a local HTTP server standing in for the SSH channel. The real thing — a two-factor sshd, a
// `status` in another process asking no code — is in cli-session.test.ts.

let dir: string;
let hub: http.Server;
let hubPort: number;
let profile: FacilityProfile;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'roamlab-mux-'));
  hub = http.createServer((req, res) => res.end(`hub saw ${req.method} ${req.url} with ${req.headers.authorization ?? 'no token'}`));
  await new Promise<void>((r) => hub.listen(0, '127.0.0.1', r));
  hubPort = (hub.address() as net.AddressInfo).port;
  profile = { schema: 1, id: 'f', name: 'F', hub: { url: `http://127.0.0.1:${hubPort}/jhub/` }, ssh: { host: 'gate', port: 22, knownHostsFile: '~/.ssh/known_hosts' }, classes: [] } as unknown as FacilityProfile;
});

afterAll(async () => {
  hub.closeAllConnections();
  await new Promise((r) => hub.close(r));
  rmSync(dir, { recursive: true, force: true });
});

const forward = () => new Promise<net.Socket>((resolve, reject) => {
  const s = net.connect(hubPort, '127.0.0.1', () => resolve(s));
  s.once('error', reject);
});

function get(agent: http.Agent, url: URL): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent, headers: { Authorization: 'token the-commands-own' } }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d) => (body += d));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

describe('muxSocketPath', () => {
  it('names one socket per facility connection under ROAMLAB_HOME/run; none on Windows, without SSH, or past sun_path', () => {
    const a = muxSocketPath(dir, profile, 'alice')!;
    expect(path.dirname(a)).toBe(path.join(dir, 'run'));
    expect(muxSocketPath(dir, profile, 'bob')).not.toBe(a); // the account comes from the hub user: another connection
    expect(muxSocketPath(dir, { ...profile, ssh: { ...profile.ssh!, user: 'shared' } } as FacilityProfile, 'alice')).toBe(muxSocketPath(dir, { ...profile, ssh: { ...profile.ssh!, user: 'shared' } } as FacilityProfile, 'bob'));
    expect(muxSocketPath(dir, profile, 'alice', 'win32')).toBeUndefined();
    expect(muxSocketPath(dir, { ...profile, ssh: undefined } as FacilityProfile, 'alice')).toBeUndefined();
    expect(muxSocketPath(path.join(dir, 'x'.repeat(90)), profile, 'alice')).toBeUndefined();
  });
});

describe('serveMux / connectMux', () => {
  it("carries another command's requests, its own token in them, over the served connection; the socket is the user's alone", async () => {
    const socket = muxSocketPath(dir, profile, 'alice')!;
    expect(await connectMux(socket, profile)).toBeUndefined(); // nobody serves yet
    const served = (await serveMux(socket, forward))!;
    try {
      expect(statSync(path.dirname(socket)).mode & 0o777).toBe(0o700);
      expect(statSync(socket).mode & 0o777).toBe(0o600);
      const t = (await connectMux(socket, profile))!;
      expect(t.hubUrl.href).toBe(`http://127.0.0.1:${hubPort}/jhub/`);
      expect(await get(t.agent, new URL('hub/api/user', t.hubUrl))).toBe('hub saw GET /jhub/hub/api/user with token the-commands-own');
      expect(await get(t.agent, new URL('hub/api/', t.hubUrl))).toBe('hub saw GET /jhub/hub/api/ with token the-commands-own');
      await t.close();
      // A second start for the same facility leaves it to the one already serving.
      expect(await serveMux(socket, forward)).toBeUndefined();
    } finally {
      await served.close();
    }
    expect(existsSync(socket)).toBe(false);
    expect(await connectMux(socket, profile)).toBeUndefined();
  });

  it('replaces a socket left behind by a start that was killed', async () => {
    const socket = muxSocketPath(dir, profile, 'carol')!;
    // A start killed while serving: the file stays, nobody answers.
    mkdirSync(path.dirname(socket), { recursive: true, mode: 0o700 });
    spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(socket)}, () => process.kill(process.pid, 'SIGKILL'))`]);
    expect(existsSync(socket)).toBe(true);
    const served = (await serveMux(socket, forward))!;
    try {
      const t = (await connectMux(socket, profile))!;
      expect(await get(t.agent, new URL('hub/api/', t.hubUrl))).toMatch(/^hub saw GET/);
      await t.close();
    } finally {
      await served.close();
    }
  });

  it('closes a stream it cannot forward (the connection is being replaced): the command fails, the master goes on', async () => {
    const socket = muxSocketPath(dir, profile, 'dan')!;
    const served = (await serveMux(socket, () => Promise.reject(new Error('SSH channel closed'))))!;
    try {
      const t = (await connectMux(socket, profile))!;
      await expect(get(t.agent, new URL('hub/api/', t.hubUrl))).rejects.toThrow(/socket hang up|ECONNRESET|EPIPE/);
      await t.close();
    } finally {
      await served.close();
    }
  });
});

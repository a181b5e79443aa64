/**
 * Hub answers a real hub cannot be made to give on demand (rate limits, crashes, a proxy's HTML,
 * a hang), from a tiny local HTTP server. Everything else is tested against real hubs in
 * test/integration/hub-client.test.ts.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { RoamlabError } from '../../electron/core/errors';
import { HubClient } from '../../electron/core/hub/hub-client';
import { openDirectTransport } from '../../electron/core/transport/direct';
import type { HubTransport } from '../../electron/core/transport/transport';

interface Seen {
  method: string;
  url: string;
  auth?: string;
  body: string;
}
type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

async function fakeHub(routes: Record<string, Handler>): Promise<{ transport: HubTransport; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', auth: req.headers.authorization, body });
      const route = routes[`${req.method} ${req.url}`];
      if (route) route(req, res, body);
      else {
        res.writeHead(404, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ status: 404, message: 'Not Found' }));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const transport = openDirectTransport(new URL(`http://127.0.0.1:${port}/jhub/`));
  cleanups.push(async () => {
    await transport.close();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });
  return { transport, seen };
}

const json = (status: number, value: unknown, headers: Record<string, string> = {}): Handler => (_req, res) => {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify(value));
};
const version = (v: string): Handler => json(200, { version: v });
const userModel = { name: 'alice', admin: false, servers: {} };

async function caught(p: Promise<unknown>): Promise<RoamlabError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof RoamlabError) return e;
    throw e;
  }
  throw new Error('expected a RoamlabError');
}

describe('HubClient against misbehaving hubs', () => {
  it('honours a 429 Retry-After once for a GET, then succeeds', async () => {
    let calls = 0;
    const { transport, seen } = await fakeHub({
      'GET /jhub/hub/api/user': (req, res, body) => {
        calls++;
        if (calls === 1) return json(429, { status: 429, message: 'Too many requests' }, { 'Retry-After': '1' })(req, res, body);
        return json(200, userModel)(req, res, body);
      },
    });
    const client = new HubClient({ transport });
    const t0 = Date.now();
    const me = await client.whoami('secret-token');
    expect(me.name).toBe('alice');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
    expect(seen).toHaveLength(2);
    expect(seen.every((s) => s.auth === 'token secret-token' && !s.url.includes('secret-token'))).toBe(true);
  });

  it('surfaces a second 429, and a Retry-After beyond the cap, with retryAfterSeconds', async () => {
    const { transport, seen } = await fakeHub({
      'GET /jhub/hub/api/user': json(429, { status: 429, message: 'slow down' }, { 'Retry-After': '1' }),
      'GET /jhub/hub/api/users/alice': json(429, { status: 429, message: 'slow down' }, { 'Retry-After': new Date(Date.now() + 300_000).toUTCString() }),
    });
    const client = new HubClient({ transport });
    const a = await caught(client.whoami('t'));
    expect(a.kind).toBe('hub-rate-limited');
    expect(a.details.retryAfterSeconds).toBe(1);
    expect(seen.filter((s) => s.url === '/jhub/hub/api/user')).toHaveLength(2);

    const b = await caught(client.server('t', 'alice'));
    expect(b.kind).toBe('hub-rate-limited');
    expect(b.details.retryAfterSeconds).toBeGreaterThan(290);
    expect(seen.filter((s) => s.url === '/jhub/hub/api/users/alice')).toHaveLength(1);
  });

  it('does not retry a spawn answered 429: the caller gets retryAfterSeconds', async () => {
    const { transport, seen } = await fakeHub({
      'GET /jhub/hub/api': version('5.2.1'),
      'POST /jhub/hub/api/users/alice/server': json(429, { status: 429, message: 'Too many users trying to start servers' }, { 'Retry-After': '2' }),
      'GET /jhub/hub/api/users/alice/server/progress': json(400, { status: 400, message: 'not starting' }),
    });
    const client = new HubClient({ transport });
    const e = await caught(client.spawn('t', 'alice', '', { profile: 'small' }));
    expect(e.kind).toBe('hub-rate-limited');
    expect(e.details.retryAfterSeconds).toBe(2);
    expect(e.details.hubMessage).toBe('Too many users trying to start servers');
    expect(seen.filter((s) => s.method === 'POST')).toHaveLength(1);
    expect(seen.filter((s) => s.method === 'DELETE')).toHaveLength(0);
  });

  it('maps a 500 to hub-server-error with the hub message', async () => {
    const { transport } = await fakeHub({
      'GET /jhub/hub/api/users/alice': json(500, { status: 500, message: 'Internal Server Error' }),
    });
    const e = await caught(new HubClient({ transport }).server('t', 'alice'));
    expect(e.kind).toBe('hub-server-error');
    expect(e.details.status).toBe(500);
    expect(e.details.hubMessage).toBe('Internal Server Error');
  });

  it('calls an HTML page at hub/api garbage and points at the hub URL', async () => {
    const { transport } = await fakeHub({
      'GET /jhub/hub/api': (_req, res) => {
        res.writeHead(200, { 'Content-Type': 'text/html' });
        res.end('<!DOCTYPE html><html><body><h1>Welcome to nginx!</h1></body></html>');
      },
      'GET /jhub/hub/api/user': (_req, res) => {
        res.writeHead(200, { 'Content-Type': 'text/html' });
        res.end('<html>Single sign-on portal</html>');
      },
    });
    const client = new HubClient({ transport });
    const v = await caught(client.version());
    expect(v.kind).toBe('hub-garbage');
    expect(v.message).toContain("not JupyterHub's API");
    expect(v.hint).toContain('check the hub URL in the facility profile');
    expect((await caught(client.whoami('t'))).kind).toBe('hub-garbage');
  });

  it('calls a 404 at hub/api garbage too (wrong prefix), not a missing resource', async () => {
    const { transport } = await fakeHub({});
    expect((await caught(new HubClient({ transport }).version())).kind).toBe('hub-garbage');
  });

  it('times out a hanging hub with hub-timeout', async () => {
    const { transport } = await fakeHub({ 'GET /jhub/hub/api/user': () => undefined /* never answers */ });
    const client = new HubClient({ transport, timeoutMs: 400 });
    const t0 = Date.now();
    const e = await caught(client.whoami('t'));
    expect(e.kind).toBe('hub-timeout');
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it('reports a closed port as hub-unreachable', async () => {
    const probe = http.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((r) => probe.close(() => r()));
    const transport = openDirectTransport(new URL(`http://127.0.0.1:${port}/`));
    cleanups.push(() => transport.close());
    const e = await caught(new HubClient({ transport }).version());
    expect(e.kind).toBe('hub-unreachable');
    expect(e.message).toContain('ECONNREFUSED');
  });

  it('refuses to spawn with empty options and sends nothing', async () => {
    const { transport, seen } = await fakeHub({ 'GET /jhub/hub/api': version('5.2.1') });
    const e = await caught(new HubClient({ transport }).spawn('t', 'alice', '', {}));
    expect(e.kind).toBe('usage');
    expect(seen).toHaveLength(0);
  });

  it('sends the options object itself to JupyterHub 5 and wraps it in user_options from 6 on', async () => {
    const bodies: Record<string, string> = {};
    for (const v of ['5.2.1', '6.0.0']) {
      const ready = { name: '', ready: true, pending: null, started: 'x', url: '/jhub/user/alice/', user_options: { profile: 'small' }, progress_url: '' };
      const { transport, seen } = await fakeHub({
        'GET /jhub/hub/api': version(v),
        'POST /jhub/hub/api/users/alice/server': (_req, res) => {
          res.writeHead(201);
          res.end();
        },
        'GET /jhub/hub/api/users/alice/server/progress': (_req, res) => {
          res.writeHead(200, { 'Content-Type': 'text/event-stream' });
          res.end(`data: ${JSON.stringify({ progress: 100, ready: true, message: 'Server ready', url: '/jhub/user/alice/' })}\n\n`);
        },
        'GET /jhub/hub/api/users/alice': json(200, { ...userModel, servers: { '': ready } }),
      });
      const m = await new HubClient({ transport }).spawn('t', 'alice', '', { profile: 'small' });
      expect(m.ready).toBe(true);
      bodies[v] = seen.find((s) => s.method === 'POST')?.body ?? '';
    }
    expect(JSON.parse(bodies['5.2.1'] ?? '')).toEqual({ profile: 'small' });
    expect(JSON.parse(bodies['6.0.0'] ?? '')).toEqual({ user_options: { profile: 'small' } });
  });
});

import http from 'node:http';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { LocalGateway, ENTRY_PATH } from '../../electron/core/gateway/gateway';
import type { HubTransport } from '../../electron/core/transport/transport';

// An upstream that records what reached it: it stands where the hub would, so the test can see
// which headers the gateway forwarded. The end-to-end path to a real hub is in cli-session.test.ts.
const TOKEN = 'hubtoken-' + 'x'.repeat(24);
let upstream: http.Server;
let wss: WebSocketServer;
let upstreamPort = 0;
const seen: http.IncomingHttpHeaders[] = [];
let gateway: LocalGateway;

function request(port: number, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  upstream = http.createServer((req, res) => {
    seen.push(req.headers);
    if (req.url === '/jhub/redirect') {
      res.writeHead(302, { location: `http://127.0.0.1:${upstreamPort}/jhub/user/a/lab`, 'set-cookie': '_xsrf=abc; Domain=127.0.0.1; Secure; Path=/' });
      res.end();
      return;
    }
    if (req.url === '/jhub/big') {
      // 8 MiB in chunks: the gateway must stream it, not buffer.
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      let left = 128;
      const chunk = Buffer.alloc(64 * 1024, 7);
      const pump = () => {
        while (left > 0) {
          left--;
          if (!res.write(chunk)) return res.once('drain', pump);
        }
        res.end();
      };
      pump();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ path: req.url, headers: req.headers }));
  });
  wss = new WebSocketServer({ server: upstream });
  wss.on('connection', (ws, req) => {
    seen.push(req.headers);
    ws.on('message', (m) => ws.send(`echo:${m.toString()}`));
  });
  upstream.listen(0, '127.0.0.1');
  await once(upstream, 'listening');
  upstreamPort = (upstream.address() as { port: number }).port;
  const transport: HubTransport = {
    hubUrl: new URL(`http://127.0.0.1:${upstreamPort}/jhub/`),
    agent: new http.Agent({ keepAlive: true }),
    describe: 'direct',
    close: async () => {},
  };
  gateway = new LocalGateway({ transport, token: () => TOKEN, landingPath: '/jhub/user/a/lab' });
  await gateway.listen();
});

afterAll(async () => {
  await gateway?.close();
  wss?.close();
  upstream?.close();
});

async function enter(): Promise<string> {
  const url = new URL(gateway.entryUrl());
  const res = await request(gateway.port, url.pathname + url.search, { host: `127.0.0.1:${gateway.port}` });
  expect(res.status).toBe(302);
  expect(res.headers.location).toBe('/jhub/user/a/lab');
  const setCookie = res.headers['set-cookie']?.[0] ?? '';
  expect(setCookie).toMatch(/HttpOnly/);
  expect(setCookie).toMatch(/SameSite=Strict/);
  return setCookie.split(';')[0]!;
}

describe('local gateway', () => {
  it('lets the entry URL in once, then forwards with the token, hub Host and hub Origin', async () => {
    const cookie = await enter();
    const res = await request(gateway.port, '/jhub/user/a/api/status', {
      host: `127.0.0.1:${gateway.port}`,
      cookie: `${cookie}; _xsrf=keep`,
      origin: `http://127.0.0.1:${gateway.port}`,
    });
    expect(res.status).toBe(200);
    const echoed = JSON.parse(res.body) as { path: string; headers: http.IncomingHttpHeaders };
    expect(echoed.path).toBe('/jhub/user/a/api/status');
    expect(echoed.headers.authorization).toBe(`token ${TOKEN}`);
    expect(echoed.headers.host).toBe(`127.0.0.1:${upstreamPort}`);
    expect(echoed.headers.origin).toBe(`http://127.0.0.1:${upstreamPort}`);
    // the gateway's own secret stays on this side
    expect(echoed.headers.cookie).toBe('_xsrf=keep');
  });

  it('refuses a used or made-up entry key', async () => {
    const url = new URL(gateway.entryUrl());
    const host = { host: `127.0.0.1:${gateway.port}` };
    expect((await request(gateway.port, url.pathname + url.search, host)).status).toBe(302);
    const again = await request(gateway.port, url.pathname + url.search, host);
    expect(again.status).toBe(403);
    expect(again.body).toMatch(/already used or has expired/);
    expect((await request(gateway.port, `${ENTRY_PATH}?key=guess`, host)).status).toBe(403);
  });

  it.each([
    ['no session cookie', (_c: string): Record<string, string> => ({ host: `127.0.0.1:${gateway.port}` })],
    ['a foreign Host (DNS rebinding)', (c: string): Record<string, string> => ({ host: `attacker.example:${gateway.port}`, cookie: c })],
    ['a foreign Origin', (c: string): Record<string, string> => ({ host: `127.0.0.1:${gateway.port}`, cookie: c, origin: 'https://evil.example' })],
  ])('answers 403 without the token for %s', async (_label, make) => {
    const cookie = await enter();
    const before = seen.length;
    const headers = make(cookie);
    const res = await request(gateway.port, '/jhub/user/a/api/status', headers);
    expect(res.status).toBe(403);
    expect(res.body).not.toContain(TOKEN);
    expect(JSON.stringify(res.headers)).not.toContain(TOKEN);
    expect(seen.length).toBe(before); // nothing reached the hub
  });

  it('rewrites hub redirects and cookies for the loopback origin', async () => {
    const cookie = await enter();
    const res = await request(gateway.port, '/jhub/redirect', { host: `127.0.0.1:${gateway.port}`, cookie });
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe(`http://127.0.0.1:${gateway.port}/jhub/user/a/lab`);
    expect(res.headers['set-cookie']).toEqual(['_xsrf=abc; Path=/']);
  });

  it('streams large bodies', async () => {
    const cookie = await enter();
    const res = await request(gateway.port, '/jhub/big', { host: `127.0.0.1:${gateway.port}`, cookie });
    expect(res.status).toBe(200);
    expect(res.body.length).toBe(128 * 64 * 1024);
  });

  it('carries WebSockets with the token, and refuses them without the cookie', async () => {
    const cookie = await enter();
    const ws = new WebSocket(`ws://127.0.0.1:${gateway.port}/jhub/user/a/api/kernels/k/channels`, {
      headers: { cookie },
      origin: `http://127.0.0.1:${gateway.port}`,
    });
    await once(ws, 'open');
    ws.send('hello');
    const [msg] = await once(ws, 'message');
    expect(String(msg)).toBe('echo:hello');
    expect(seen.at(-1)?.authorization).toBe(`token ${TOKEN}`);
    ws.close();

    const refused = new WebSocket(`ws://127.0.0.1:${gateway.port}/jhub/user/a/api/kernels/k/channels`, { origin: `http://127.0.0.1:${gateway.port}` });
    const [err] = await once(refused, 'error');
    expect(String((err as Error).message)).toMatch(/403/);
  });
});

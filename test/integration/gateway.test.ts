import http from 'node:http';
import { once } from 'node:events';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { LocalGateway, ENTRY_PATH } from '../../electron/core/gateway/gateway';
import type { HubTransport } from '../../electron/core/transport/transport';
import { openDirectTransport } from '../../electron/core/transport/direct';
import { kernelInfoReply } from './helpers/kernel-ws';
import { gunzipSync, gzipSync } from 'node:zlib';

// An upstream that records what reached it: it stands where the hub would, so the test can see
// which headers the gateway forwarded. The end-to-end path to a real hub is in cli-session.test.ts.
const TOKEN = 'hubtoken-' + 'x'.repeat(24);
let upstream: http.Server;
let wss: WebSocketServer;
let upstreamPort = 0;
const seen: http.IncomingHttpHeaders[] = [];
/** Every upstream WebSocket connection, in order. */
const upstreamWs: { ws: WebSocket; url: string }[] = [];
let restartRefusals = 0;
/** Kernel models the gateway read (…/api/kernels/ID), by id. */
const kernelModelReads: string[] = [];
const KERNEL_ANSWER_MS = 300;
/** While true, the hub is away (a long restart): every WebSocket handshake gets the proxy's 503. */
let hubAway = false;
let awayRefusals = 0;
/** The relay's pauses between dials, short so that its patience (4 dials) runs out in ~250 ms. */
const WS_RETRY_MS = [50, 100, 100];
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
    // A user's server on its own host (subdomain_host) redirecting on that host.
    if (req.url === '/jhub/user/a/own-redirect') {
      res.writeHead(302, { location: `http://${req.headers.host}/jhub/user/a/lab` });
      res.end();
      return;
    }
    if (req.url === '/jhub/redirect') {
      res.writeHead(302, { location: `http://127.0.0.1:${upstreamPort}/jhub/user/a/lab`, 'set-cookie': '_xsrf=abc; Domain=127.0.0.1; Secure; Path=/' });
      res.end();
      return;
    }
    // The hub's proxy right after a hub restart, before the server's route is back: a bare 404.
    if (req.url?.startsWith('/jhub/user/a/api/contents?noroute')) {
      res.writeHead(404);
      res.end('Not Found');
      return;
    }
    // The server's own 404 for a missing file (jupyter_server: JSON, from Tornado).
    if (req.url?.startsWith('/jhub/user/a/api/contents/missing.ipynb')) {
      res.writeHead(404, { 'content-type': 'application/json', server: 'TornadoServer/6.4.2' });
      res.end(JSON.stringify({ message: 'No such file or directory: missing.ipynb', reason: null }));
      return;
    }
    // A request body, counted as it arrives, and the headers it came with.
    if (req.url === '/jhub/echo-body') {
      let n = 0;
      req.on('data', (c: Buffer) => (n += c.length));
      req.on('end', () => {
        res.writeHead(201, 'Made', { 'content-type': 'application/json' });
        res.end(JSON.stringify({ bytes: n, headers: req.headers }));
      });
      return;
    }
    // A hub that breaks off in the middle of a body.
    if (req.url === '/jhub/cut') {
      res.writeHead(200, { 'content-length': String(1024 * 1024) });
      res.write(Buffer.alloc(64 * 1024, 1), () => res.destroy());
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
    // JupyterLab's page, as jupyter_server renders it (the config JSON escaped for <script>).
    if (req.url?.startsWith('/jhub/user/a/lab')) {
      const config = JSON.stringify({ baseUrl: '/jhub/user/a/', exposeAppInBrowser: false, note: '</script>' }).replace(/</g, '\\u003c').replace(/>/g, '\\u003e');
      const html = `<!doctype html><html><head><script id="jupyter-config-data" type="application/json">${config}</script></head><body>${req.headers['accept-encoding']}</body></html>`;
      const gzip = req.url.includes('gzipped');
      res.writeHead(200, { 'content-type': 'text/html; charset=UTF-8', ...(gzip ? { 'content-encoding': 'gzip' } : {}) });
      res.end(gzip ? gzipSync(html) : html);
      return;
    }
    // A kernel's model: "deaf" and "busy" kernels never answer a resumed socket's kernel_info.
    const kernel = /^\/jhub\/user\/a\/api\/kernels\/(deaf|busy)$/.exec(req.url ?? '');
    if (kernel) {
      kernelModelReads.push(kernel[1]!);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: kernel[1], execution_state: kernel[1] === 'busy' ? 'busy' : 'idle' }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ path: req.url, headers: req.headers }));
  });
  wss = new WebSocketServer({
    server: upstream,
    handleProtocols: (offered) => (offered.has('v1.kernel.websocket.jupyter.org') ? 'v1.kernel.websocket.jupyter.org' : false),
    verifyClient: (info, cb) => {
      const url = info.req.url ?? '';
      if (hubAway) {
        awayRefusals++;
        return cb(false, 503);
      }
      if (url.includes('/gone/') && upstreamWs.some((u) => u.url.includes('/gone/'))) return cb(false, 404);
      // A hub restarting: its proxy has no route yet and the hub redirects, twice, then it is back.
      if (url.includes('/restarting/') && upstreamWs.some((u) => u.url.includes('/restarting/')) && restartRefusals < 2) {
        restartRefusals++;
        return cb(false, 302);
      }
      return cb(true);
    },
  });
  wss.on('connection', (ws, req) => {
    seen.push(req.headers);
    upstreamWs.push({ ws, url: req.url ?? '' });
    ws.on('message', (m, isBinary) => {
      // A kernel answers kernel_info, except where its channels no longer reach it: a resumed
      // socket (same URL again) of the "deaf" kernel under the page's own session_id, any socket of the "busy" one.
      const reply = kernelInfoReply(ws.protocol, m, isBinary);
      if (reply === undefined) return ws.send(isBinary ? m : `echo:${m.toString()}`, { binary: isBinary });
      const url = req.url ?? '';
      // (The session_ids the tests choose, s1…; a uuid is one the relay made up, with new channels.)
      const deaf = url.includes('/busy/') || (url.includes('/deaf/') && /session_id=s\d+$/.test(url) && upstreamWs.filter((u) => u.url === url).length > 1);
      if (!deaf) ws.send(reply, { binary: typeof reply !== 'string' });
    });
    if (req.url?.includes('/hello-on-open')) ws.send('hello from the kernel');
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
  gateway = new LocalGateway({ transport, token: () => TOKEN, landingPath: '/jhub/user/a/lab', waitForLinkMs: 400, facilityName: 'Test <Facility>', wsRetryMs: WS_RETRY_MS, kernelAnswerMs: KERNEL_ANSWER_MS });
  await gateway.listen();
});

afterEach(() => {
  hubAway = false;
  gateway.setReconnecting(false);
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

  it('lands an entry URL made for a place there (a bookmark opened in a new Lab window)', async () => {
    const url = new URL(gateway.entryUrl('/jhub/user/a/lab/tree/run%2042.ipynb'));
    const res = await request(gateway.port, url.pathname + url.search, { host: `127.0.0.1:${gateway.port}` });
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe('/jhub/user/a/lab/tree/run%2042.ipynb');
    expect(res.headers['set-cookie']?.[0]).toMatch(/HttpOnly/);
  });

  it("passes JupyterLab's page on with its app exposed (asked for uncompressed); a compressed one unchanged", async () => {
    const cookie = await enter();
    const headers = { host: `127.0.0.1:${gateway.port}`, cookie, 'accept-encoding': 'gzip, br' };
    const res = await request(gateway.port, '/jhub/user/a/lab/tree/x.ipynb', headers);
    expect(res.status).toBe(200);
    expect(Number(res.headers['content-length'])).toBe(Buffer.byteLength(res.body));
    const config = /<script id="jupyter-config-data" type="application\/json">(.*?)<\/script>/.exec(res.body)![1]!;
    expect(JSON.parse(config)).toEqual({ baseUrl: '/jhub/user/a/', exposeAppInBrowser: true, note: '</script>' });
    expect(res.body).toContain('<body>identity</body>');
    // Other pages and files are not touched.
    const api = await request(gateway.port, '/jhub/user/a/api/contents/lab', headers);
    expect(JSON.parse(api.body).headers['accept-encoding']).toBe('gzip, br');
    const gz = await new Promise<Buffer>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: gateway.port, path: '/jhub/user/a/lab?gzipped', headers, agent: false }, (r) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => resolve(Buffer.concat(chunks)));
      }).on('error', reject);
    });
    expect(gunzipSync(gz).toString()).toContain('"exposeAppInBrowser":false');
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

  it('answers a server API call the hub\'s proxy has no route for (a hub restarting) with 504 "reconnecting", not the proxy\'s 404', async () => {
    const cookie = await enter();
    const headers = { host: `127.0.0.1:${gateway.port}`, cookie, accept: 'application/json' };
    const noRoute = await request(gateway.port, '/jhub/user/a/api/contents?noroute&content=1', headers);
    expect(noRoute.status).toBe(504);
    expect(noRoute.headers['retry-after']).toBe('2');
    expect(JSON.parse(noRoute.body)).toMatchObject({ reason: 'reconnecting' });
    // The server's own 404 (a file that is not there) passes unchanged.
    const missing = await request(gateway.port, '/jhub/user/a/api/contents/missing.ipynb', headers);
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body)).toMatchObject({ message: expect.stringContaining('missing.ipynb') });
  });

  it('passes a request body and the hub\'s status on, and drops hop-by-hop headers both ways', async () => {
    const cookie = await enter();
    const body = Buffer.alloc(3 * 1024 * 1024, 9);
    const res = await new Promise<{ status: number; message: string; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: gateway.port,
          path: '/jhub/echo-body',
          method: 'PUT',
          agent: false,
          headers: { host: `127.0.0.1:${gateway.port}`, cookie, connection: 'keep-alive, x-only-this-hop', 'x-only-this-hop': '1', 'x-kept': 'yes', 'content-length': String(body.length) },
        },
        (r) => {
          let text = '';
          r.setEncoding('utf8');
          r.on('data', (c) => (text += c));
          r.on('end', () => resolve({ status: r.statusCode ?? 0, message: r.statusMessage ?? '', headers: r.headers, body: text }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    expect(res.status).toBe(201);
    expect(res.message).toBe('Made');
    const echoed = JSON.parse(res.body) as { bytes: number; headers: http.IncomingHttpHeaders };
    expect(echoed.bytes).toBe(body.length);
    expect(echoed.headers['x-kept']).toBe('yes');
    expect(echoed.headers['x-only-this-hop']).toBeUndefined();
    expect(echoed.headers.authorization).toBe(`token ${TOKEN}`);
  });

  it('cuts the page\'s response short when the hub breaks off mid-body (no truncated body taken as whole)', async () => {
    const cookie = await enter();
    const outcome = await new Promise<string>((resolve) => {
      http
        .get({ host: '127.0.0.1', port: gateway.port, path: '/jhub/cut', agent: false, headers: { host: `127.0.0.1:${gateway.port}`, cookie } }, (r) => {
          let n = 0;
          r.on('data', (c: Buffer) => (n += c.length));
          r.on('end', () => resolve(`ended after ${n} bytes`));
          r.on('error', () => resolve(`broken after ${n} bytes`));
          r.on('aborted', () => resolve(`broken after ${n} bytes`));
        })
        .on('error', (e) => resolve(`request error ${e.message}`));
    });
    expect(outcome).toMatch(/^broken after \d+ bytes$/);
  });

  it('sends a read-only request again when the hub closes the kept-alive connection under it; a request with a body it does not', async () => {
    // A front server that closes a kept-alive connection just as the next request goes out on
    // it (nginx's keepalive_timeout running out): modelled as closing at that request.
    const net = await import('node:net');
    const requests: string[] = [];
    const front = net.createServer((s) => {
      let seenOne = false;
      s.on('error', () => undefined);
      s.on('data', (d: Buffer) => {
        const line = d.toString('latin1').split('\r\n')[0]!;
        if (seenOne) {
          requests.push(`closed under ${line}`);
          s.destroy();
          return;
        }
        seenOne = true;
        requests.push(line);
        s.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nfront');
      });
    });
    front.listen(0, '127.0.0.1');
    await once(front, 'listening');
    const port = (front.address() as { port: number }).port;
    const transport: HubTransport = { hubUrl: new URL(`http://127.0.0.1:${port}/`), agent: new http.Agent({ keepAlive: true }), describe: 'direct', close: async () => {} };
    const gw = new LocalGateway({ transport, token: () => TOKEN, landingPath: '/', waitForLinkMs: 100 });
    await gw.listen();
    try {
      const url = new URL(gw.entryUrl());
      const entered = await request(gw.port, url.pathname + url.search, { host: `127.0.0.1:${gw.port}` });
      const headers = { host: `127.0.0.1:${gw.port}`, cookie: entered.headers['set-cookie']![0]!.split(';')[0]!, accept: 'application/json' };
      expect((await request(gw.port, '/a', headers)).body).toBe('front');
      expect(await request(gw.port, '/b', headers)).toMatchObject({ status: 200, body: 'front' });
      expect(requests).toEqual(['GET /a HTTP/1.1', 'closed under GET /b HTTP/1.1', 'GET /b HTTP/1.1']);
      // A POST may have been acted on before the close: not sent twice; the page is told to retry.
      const post = await request(gw.port, '/c', { ...headers, 'content-length': '0' }, 'POST');
      expect(post.status).toBe(504);
      expect(requests.filter((r) => r.includes('POST'))).toEqual(['closed under POST /c HTTP/1.1']);
    } finally {
      await gw.close();
      front.close();
    }
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

describe('local gateway for a hub with subdomain_host (the user on a host of their own)', () => {
  // The upstream stands in for the hub's proxy, which serves both hosts and routes by Host.
  const userHost = () => ({ host: `a.hub.test:${upstreamPort}`, origin: `http://a.hub.test:${upstreamPort}`, pathPrefix: '/jhub/user/a/' });
  let gw: LocalGateway;
  let cookie: string;
  beforeAll(async () => {
    gw = new LocalGateway({ transport: openDirectTransport(new URL(`http://127.0.0.1:${upstreamPort}/jhub/`)), token: () => TOKEN, landingPath: '/jhub/user/a/lab', serverHost: userHost() });
    await gw.listen();
    const entry = new URL(gw.entryUrl());
    cookie = (await request(gw.port, entry.pathname + entry.search, { host: `127.0.0.1:${gw.port}` })).headers['set-cookie']![0]!.split(';')[0]!;
  });
  afterAll(async () => {
    await gw?.close();
  });

  it("names the user's host in Host, Origin and Referer for their paths, and the hub's for the hub's", async () => {
    const page = { host: `127.0.0.1:${gw.port}`, cookie, origin: `http://127.0.0.1:${gw.port}`, referer: `http://127.0.0.1:${gw.port}/jhub/user/a/lab` };
    const own = JSON.parse((await request(gw.port, '/jhub/user/a/api/status', page)).body) as { headers: http.IncomingHttpHeaders };
    expect(own.headers).toMatchObject({ host: userHost().host, origin: userHost().origin, referer: `${userHost().origin}/jhub/user/a/lab`, authorization: `token ${TOKEN}` });
    const hubs = JSON.parse((await request(gw.port, '/jhub/hub/api/user', page)).body) as { headers: http.IncomingHttpHeaders };
    expect(hubs.headers).toMatchObject({ host: `127.0.0.1:${upstreamPort}`, origin: `http://127.0.0.1:${upstreamPort}` });
  });

  it("brings a redirect on the user's host back onto the gateway", async () => {
    const res = await request(gw.port, '/jhub/user/a/own-redirect', { host: `127.0.0.1:${gw.port}`, cookie });
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe(`http://127.0.0.1:${gw.port}/jhub/user/a/lab`);
  });

  it("dials the user's WebSockets with the user's host and origin", async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${gw.port}/jhub/user/a/api/kernels/k/channels`, { headers: { cookie }, origin: `http://127.0.0.1:${gw.port}` });
    await once(ws, 'open');
    expect(seen.at(-1)).toMatchObject({ host: userHost().host, origin: userHost().origin, authorization: `token ${TOKEN}` });
    ws.close();
  });
});

/** A page-side WebSocket through the gateway, with the session cookie. */
async function pageSocket(path: string, protocols: string[] = []): Promise<WebSocket> {
  const cookie = await enter();
  const ws = new WebSocket(`ws://127.0.0.1:${gateway.port}${path}`, protocols, { headers: { cookie }, origin: `http://127.0.0.1:${gateway.port}` });
  await once(ws, 'open');
  return ws;
}

/** The hub side of a relayed socket vanishes without a close frame (its connection destroyed). */
function cutUpstream(u: { ws: WebSocket }): void {
  (u.ws as unknown as { _socket: { destroy(): void } })._socket.destroy();
}

/** The link goes down and the connection under `u` with it; the relay has noticed 100 ms later. */
async function linkDropsUnder(u: { ws: WebSocket }): Promise<void> {
  gateway.setLinkDown();
  cutUpstream(u);
  await new Promise((r) => setTimeout(r, 100));
}

function nextMessage(ws: WebSocket, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no message')), timeoutMs);
    ws.once('message', (m) => {
      clearTimeout(t);
      resolve(String(m));
    });
  });
}

describe('local gateway while the link is down', () => {
  it('holds a request a few seconds, then answers 504 with Retry-After (not 503: JupyterLab reads that as "server not running"); a navigation gets a page that reloads itself', async () => {
    const cookie = await enter();
    const headers = { host: `127.0.0.1:${gateway.port}`, cookie };
    gateway.setLinkDown();
    try {
      const t0 = Date.now();
      const api = await request(gateway.port, '/jhub/user/a/api/contents', headers);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(350);
      expect(api.status).toBe(504);
      expect(api.headers['retry-after']).toBe('2');
      expect(JSON.parse(api.body)).toMatchObject({ reason: 'reconnecting' });
      const nav = await request(gateway.port, '/jhub/user/a/lab', { ...headers, accept: 'text/html,application/xhtml+xml' });
      expect(nav.status).toBe(503);
      expect(nav.body).toContain('<meta http-equiv="refresh" content="3">');
      expect(nav.body).toContain('Reconnecting to Test &lt;Facility&gt;');
      // Still no token on this side.
      expect(nav.body + api.body).not.toContain(TOKEN);
    } finally {
      gateway.setLinkUp();
    }
  });

  it('lets a waiting request through when the link comes back within the wait', async () => {
    const cookie = await enter();
    gateway.setLinkDown();
    const pending = request(gateway.port, '/jhub/user/a/api/status', { host: `127.0.0.1:${gateway.port}`, cookie });
    setTimeout(() => gateway.setLinkUp(), 100);
    const res = await pending;
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).path).toBe('/jhub/user/a/api/status');
  });

  it('keeps the page\'s WebSocket open across a dead upstream, queues what the page sends, and resumes on the same URL', async () => {
    const path = '/jhub/user/a/api/kernels/k1/channels?session_id=abc';
    const ws = await pageSocket(path, ['v1.kernel.websocket.jupyter.org']);
    expect(ws.protocol).toBe('v1.kernel.websocket.jupyter.org');
    const first = upstreamWs.at(-1)!;
    expect(first.url).toBe(path);
    let pageClosed = false;
    ws.on('close', () => (pageClosed = true));
    // The link dies: the upstream connection vanishes without a close frame.
    await linkDropsUnder(first);
    expect(gateway.webSockets.held).toBe(1);
    ws.send('sent while away');
    ws.send(Buffer.from([1, 2, 3]));
    await new Promise((r) => setTimeout(r, 200));
    const count = upstreamWs.length;
    expect(upstreamWs.length).toBe(count); // nothing dialled while the link is down
    const echo = nextMessage(ws);
    gateway.setLinkUp();
    expect(await echo).toBe('echo:sent while away');
    const second = upstreamWs.at(-1)!;
    expect(second).not.toBe(first);
    expect(second.url).toBe(path);
    expect(gateway.webSockets).toMatchObject({ held: 0 });
    expect(gateway.webSockets.resumed).toBeGreaterThanOrEqual(1);
    expect(pageClosed).toBe(false);
    ws.close();
  });

  it('closes the page\'s socket (1011) when the hub no longer knows it, so the page reconnects by itself', async () => {
    const ws = await pageSocket('/jhub/user/a/api/kernels/gone/channels');
    const closed = once(ws, 'close');
    cutUpstream(upstreamWs.at(-1)!);
    const [code] = await closed;
    expect(code).toBe(1011);
  });

  it('keeps the page\'s socket while a restarting hub redirects (3xx), and resumes it when the route is back', async () => {
    const ws = await pageSocket('/jhub/user/a/api/kernels/restarting/channels');
    let pageClosed = false;
    ws.on('close', () => (pageClosed = true));
    const first = upstreamWs.at(-1)!;
    const echo = nextMessage(ws);
    cutUpstream(first);
    await new Promise((r) => setTimeout(r, 100));
    ws.send('after the restart');
    expect(await echo).toBe('echo:after the restart');
    expect(restartRefusals).toBe(2);
    expect(upstreamWs.at(-1)).not.toBe(first);
    expect(pageClosed).toBe(false);
    ws.close();
  });

  it('closes the page\'s socket (1011) when the hub stays away for longer than the relay\'s patience and the session has not noticed', async () => {
    const ws = await pageSocket('/jhub/user/a/api/kernels/k5/channels');
    const closed = once(ws, 'close');
    hubAway = true;
    awayRefusals = 0;
    cutUpstream(upstreamWs.at(-1)!);
    const [code] = await closed;
    expect(code).toBe(1011);
    expect(awayRefusals).toBe(WS_RETRY_MS.length + 1);
  });

  it('holds the page\'s sockets for as long as the session reconnects to a hub that is away, and resumes them at once when it is back', async () => {
    const path = '/jhub/user/a/api/kernels/k6/channels?session_id=long';
    const ws = await pageSocket(path, ['v1.kernel.websocket.jupyter.org']);
    let pageClosed = false;
    ws.on('close', () => (pageClosed = true));
    // The facility restarts its hub: the kernel socket drops, and the session finds the hub gone.
    hubAway = true;
    awayRefusals = 0;
    gateway.setReconnecting(true);
    cutUpstream(upstreamWs.at(-1)!);
    // A socket the page opens meanwhile (another notebook) is held too, not refused.
    const cookie = await enter();
    const other = new WebSocket(`ws://127.0.0.1:${gateway.port}/jhub/user/a/api/kernels/k7/channels`, ['v1.kernel.websocket.jupyter.org'], {
      headers: { cookie },
      origin: `http://127.0.0.1:${gateway.port}`,
    });
    await once(other, 'open');
    expect(other.protocol).toBe('v1.kernel.websocket.jupyter.org');
    await new Promise((r) => setTimeout(r, 1000));
    // Far more refused dials than the relay's own patience, and the page was never told.
    expect(awayRefusals).toBeGreaterThan(2 * (WS_RETRY_MS.length + 1));
    expect(pageClosed).toBe(false);
    expect(gateway.webSockets.held).toBe(2);
    ws.send('typed during the restart');
    other.send('and in the other notebook');
    const echoes = [nextMessage(ws), nextMessage(other)];
    hubAway = false;
    gateway.setReconnecting(false);
    expect(await Promise.all(echoes)).toEqual(['echo:typed during the restart', 'echo:and in the other notebook']);
    expect(upstreamWs.at(-2)!.url).toBe(path);
    expect(gateway.webSockets.held).toBe(0);
    expect(pageClosed).toBe(false);
    ws.close();
    other.close();
  });

  it('passes on a close the hub meant (kernel shut down)', async () => {
    const ws = await pageSocket('/jhub/user/a/api/kernels/k2/channels');
    const closed = once(ws, 'close');
    upstreamWs.at(-1)!.ws.close(4001, 'kernel shut down');
    const [code, reason] = await closed;
    expect(code).toBe(4001);
    expect(String(reason)).toBe('kernel shut down');
  });

  it('accepts a new WebSocket while the link stays down, holds it, and connects it to the hub when the link is back', async () => {
    const cookie = await enter();
    gateway.setLinkDown();
    const count = upstreamWs.length;
    const ws = new WebSocket(`ws://127.0.0.1:${gateway.port}/jhub/user/a/api/kernels/k3/channels?session_id=new`, ['v1.kernel.websocket.jupyter.org'], {
      headers: { cookie },
      origin: `http://127.0.0.1:${gateway.port}`,
    });
    await once(ws, 'open'); // after the 400 ms wait for the link
    expect(ws.protocol).toBe('v1.kernel.websocket.jupyter.org');
    ws.send('queued before the hub was reachable');
    await new Promise((r) => setTimeout(r, 200));
    expect(upstreamWs.length).toBe(count);
    const echo = nextMessage(ws);
    gateway.setLinkUp();
    expect(await echo).toBe('echo:queued before the hub was reachable');
    expect(upstreamWs.at(-1)!.url).toBe('/jhub/user/a/api/kernels/k3/channels?session_id=new');
    ws.close();
  });

  it('closes a socket accepted while down (1011) when the hub then chooses another subprotocol, so the page opens it again', async () => {
    const cookie = await enter();
    gateway.setLinkDown();
    const ws = new WebSocket(`ws://127.0.0.1:${gateway.port}/jhub/user/a/api/kernels/k4/channels`, ['some-other-protocol'], {
      headers: { cookie },
      origin: `http://127.0.0.1:${gateway.port}`,
    });
    await once(ws, 'open');
    const closed = once(ws, 'close');
    gateway.setLinkUp();
    const [code] = await closed;
    expect(code).toBe(1011);
  });

  it('checks a resumed kernel socket: one whose channels no longer reach the kernel is connected again under a new session_id, and what the page sent meanwhile goes there', async () => {
    const path = '/jhub/user/a/api/kernels/deaf/channels?session_id=s1';
    const ws = await pageSocket(path, ['v1.kernel.websocket.jupyter.org']);
    const first = upstreamWs.at(-1)!;
    const count = upstreamWs.length;
    await linkDropsUnder(first);
    ws.send('sent while away');
    const t0 = Date.now();
    const echo = nextMessage(ws);
    gateway.setLinkUp();
    expect(await echo).toBe('echo:sent while away');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(KERNEL_ANSWER_MS);
    const urls = upstreamWs.slice(count).map((u) => u.url);
    expect(urls).toHaveLength(2);
    expect(urls[0]).toBe(path);
    expect(urls[1]).toMatch(/^\/jhub\/user\/a\/api\/kernels\/deaf\/channels\?session_id=[0-9a-f-]{36}$/);
    expect(kernelModelReads).toContain('deaf');
    // The new session_id sticks: the next resume uses it, and it answers at once.
    await linkDropsUnder(upstreamWs.at(-1)!);
    ws.send('again');
    const again = nextMessage(ws);
    const dialled = upstreamWs.length;
    const t1 = Date.now();
    gateway.setLinkUp();
    expect(await again).toBe('echo:again');
    expect(Date.now() - t1).toBeLessThan(KERNEL_ANSWER_MS);
    expect(upstreamWs.slice(dialled).map((u) => u.url)).toEqual([urls[1]]);
    ws.close();
  });

  it('keeps a resumed socket of a kernel that is busy and does not answer (a kernel older than kernel_info on control): no new session_id', async () => {
    const path = '/jhub/user/a/api/kernels/busy/channels?session_id=s2';
    const ws = await pageSocket(path);
    const first = upstreamWs.at(-1)!;
    const count = upstreamWs.length;
    await linkDropsUnder(first);
    ws.send('sent while busy');
    const echo = nextMessage(ws);
    gateway.setLinkUp();
    expect(await echo).toBe('echo:sent while busy');
    expect(upstreamWs.slice(count).map((u) => u.url)).toEqual([path]);
    expect(kernelModelReads).toContain('busy');
    ws.close();
  });

  it('checks the first upstream too when the page reopens a kernel session the gateway relayed before (JupyterLab reconnecting by itself)', async () => {
    const path = '/jhub/user/a/api/kernels/deaf/channels?session_id=s3';
    const before = await pageSocket(path);
    before.close();
    await once(before, 'close');
    const count = upstreamWs.length;
    const ws = await pageSocket(path);
    ws.send('after reopening');
    expect(await nextMessage(ws)).toBe('echo:after reopening');
    const urls = upstreamWs.slice(count).map((u) => u.url);
    expect(urls[0]).toBe(path);
    expect(urls.at(-1)).toMatch(/session_id=[0-9a-f-]{36}$/);
    ws.close();
  });
});

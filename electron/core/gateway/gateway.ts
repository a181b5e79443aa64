import http from 'node:http';
import type { Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { createProxyServer } from 'http-proxy-3';
import type { HubTransport } from '../transport/transport';
import {
  cookieName,
  gatewayOrigin,
  judgeRequest,
  readCookie,
  rewriteLocation,
  rewriteSetCookie,
  sameSecret,
  stripCookie,
  hostAllowed,
} from './policy';

export const ENTRY_PATH = '/__roamlab/enter';
const ENTRY_KEY_TTL_MS = 5 * 60_000;

export interface GatewayOptions {
  transport: HubTransport;
  /** The current hub token; read on every request, so a re-minted token takes effect at once. */
  token: () => string;
  /** Hub path the entry URL lands on, e.g. /jhub/user/alice/lab. */
  landingPath: string;
  /** 0 (default) picks a free port; a reconnect reuses the old one. */
  port?: number;
  log?: (line: string) => void;
}

/**
 * The local gateway: an HTTP + WebSocket reverse proxy on 127.0.0.1 to the hub, through the
 * session's transport. Paths map one to one (the hub's prefix included), so JupyterLab's absolute
 * links work unchanged. It adds `Authorization: token …` and the hub's Host and Origin only to
 * requests that pass policy.ts; everything else gets 403 and never sees the token.
 */
export class LocalGateway {
  private readonly server: http.Server;
  private readonly proxy = createProxyServer({ xfwd: false, changeOrigin: true, ws: true, secure: true });
  private readonly secret = randomBytes(32).toString('base64url');
  private readonly entryKeys = new Map<string, number>();
  private readonly sockets = new Set<Socket>();
  private transport: HubTransport;
  private boundPort = 0;

  constructor(private readonly options: GatewayOptions) {
    this.transport = options.transport;
    this.server = http.createServer((req, res) => this.onRequest(req, res));
    this.server.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket as Socket, head));
    this.server.on('connection', (s: Socket) => {
      s.setNoDelay(true);
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    this.proxy.on('proxyRes', (proxyRes) => {
      const setCookie = proxyRes.headers['set-cookie'];
      if (setCookie) proxyRes.headers['set-cookie'] = setCookie.map(rewriteSetCookie);
      const location = proxyRes.headers.location;
      if (location) proxyRes.headers.location = rewriteLocation(location, this.transport.hubUrl.origin, this.boundPort);
    });
    this.proxy.on('error', (err, _req, resOrSocket) => {
      this.options.log?.(`gateway: upstream error: ${err.message}`);
      if (resOrSocket instanceof http.ServerResponse) {
        if (!resOrSocket.headersSent) {
          resOrSocket.writeHead(502, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
          resOrSocket.end('Roamlab could not reach the hub for this request. The session may be reconnecting; try again in a moment.\n');
        } else {
          resOrSocket.destroy();
        }
      } else {
        (resOrSocket as Socket).destroy();
      }
    });
  }

  get port(): number {
    return this.boundPort;
  }

  get origin(): string {
    return gatewayOrigin(this.boundPort);
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port ?? 0, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.boundPort = (this.server.address() as { port: number }).port;
    return this.boundPort;
  }

  /** Swap the transport after a reconnect; port, secret and cookies stay valid. */
  setTransport(t: HubTransport): void {
    this.transport = t;
  }

  /**
   * A one-time URL that sets the session cookie and lands on the Lab page. The key in it is
   * single-use and expires after five minutes; it is not the hub token.
   */
  entryUrl(): string {
    const key = randomBytes(24).toString('base64url');
    this.entryKeys.set(key, Date.now() + ENTRY_KEY_TTL_MS);
    return `${this.origin}${ENTRY_PATH}?key=${key}`;
  }

  async close(): Promise<void> {
    this.proxy.close();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private deny(res: http.ServerResponse, reason: string): void {
    res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
    res.end(`Forbidden: this port belongs to a Roamlab session and only serves its own window (${reason}).\n`);
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://gateway.invalid');
    if (url.pathname === ENTRY_PATH) return this.enter(req, res, url);
    const verdict = judgeRequest({ host: req.headers.host, origin: req.headers.origin, cookieHeader: req.headers.cookie }, this.boundPort, this.secret);
    if (!verdict.allow) return this.deny(res, verdict.reason);
    this.prepareOutgoing(req);
    this.proxy.web(req, res, { target: this.transport.hubUrl.origin, agent: this.transport.agent });
  }

  private onUpgrade(req: http.IncomingMessage, socket: Socket, head: Buffer): void {
    const verdict = judgeRequest({ host: req.headers.host, origin: req.headers.origin, cookieHeader: req.headers.cookie }, this.boundPort, this.secret);
    if (!verdict.allow) {
      socket.end(`HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
      return;
    }
    socket.setNoDelay(true);
    this.prepareOutgoing(req);
    this.proxy.ws(req, socket, head, { target: this.transport.hubUrl.origin, agent: this.transport.agent });
  }

  private enter(req: http.IncomingMessage, res: http.ServerResponse, url: URL): void {
    if (!hostAllowed(req.headers.host, this.boundPort)) return this.deny(res, 'host');
    const key = url.searchParams.get('key') ?? '';
    const expires = this.entryKeys.get(key);
    const valid = expires !== undefined && expires > Date.now();
    this.entryKeys.delete(key);
    const alreadyIn = sameSecret(readCookie(req.headers.cookie, cookieName(this.boundPort)), this.secret);
    if (!valid && !alreadyIn) {
      res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      res.end('This Roamlab entry link was already used or has expired. Open the session again from Roamlab to get a new one.\n');
      return;
    }
    res.writeHead(302, {
      'set-cookie': `${cookieName(this.boundPort)}=${this.secret}; Path=/; HttpOnly; SameSite=Strict`,
      location: this.options.landingPath,
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer',
    });
    res.end();
  }

  /**
   * Headers for the hub, set on the incoming request before it is proxied (the proxy copies
   * them; with an asynchronous agent the outgoing headers are already flushed by the time
   * http-proxy's proxyReq event fires).
   */
  private prepareOutgoing(req: http.IncomingMessage): void {
    const h = req.headers;
    const hubOrigin = this.transport.hubUrl.origin;
    h.authorization = `token ${this.options.token()}`;
    const cookies = stripCookie(h.cookie, cookieName(this.boundPort));
    if (cookies) h.cookie = cookies;
    else delete h.cookie;
    // Jupyter checks Origin against Host for WebSockets and cross-origin API calls: the browser's
    // Origin (already checked to be ours) is translated to the hub's, like Host.
    if (h.origin) h.origin = hubOrigin;
    if (h.referer?.startsWith(this.origin + '/')) h.referer = hubOrigin + h.referer.slice(this.origin.length);
    else delete h.referer;
  }
}

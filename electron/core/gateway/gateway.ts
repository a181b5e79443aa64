import http from 'node:http';
import type { Socket } from 'node:net';
import { randomBytes, randomUUID } from 'node:crypto';
import { WebSocketServer, type WebSocket } from 'ws';
import type { HubTransport } from '../transport/transport';
import { loadHttps } from '../lazy-modules';
import { hostForPath, hubRequest, type ServerHost } from '../hub/http';
import { dialAndOpen, isTransient, WsRelay, type KernelCheck, type RelayEnv, type UpstreamSpec } from './ws-relay';
import { kernelChannel, withSessionId } from './kernel-probe';
import { rewriteLabPage, isLabPageRequest, LAB_PAGE_MAX_BYTES } from './lab-page';
import {
  cookieName,
  gatewayOrigin,
  judgeRequest,
  readCookie,
  hubPublicOrigin,
  rewriteLocation,
  rewriteSetCookie,
  sameSecret,
  stripCookie,
  hostAllowed,
  proxyHasNoRoute,
  hubPageFor,
  HUB_PAGE_PASS,
  type HubPage,
} from './policy';

export const ENTRY_PATH = '/__roamlab/enter';
const ENTRY_KEY_TTL_MS = 5 * 60_000;
const RESPONSE_HIGH_WATER = 256 * 1024;

export interface GatewayOptions {
  transport: HubTransport;
  /** The current hub token; read on every request, so a re-minted token takes effect at once. */
  token: () => string;
  /** Hub path the entry URL lands on, e.g. /jhub/user/alice/lab. */
  landingPath: string;
  /**
   * On a hub with subdomain_host: the user's own host. Requests under its path prefix go to the
   * hub's address as ever, with that host in Host and Origin; everything else is the hub's.
   */
  serverHost?: ServerHost;
  /** 0 (default) picks a free port; a reconnect reuses the old one. */
  port?: number;
  /** While the link is down, how long a request waits for it before "reconnecting" (ms, default 4000). */
  waitForLinkMs?: number;
  /** Named in the "reconnecting" page, e.g. "DESY NAF". */
  facilityName?: string;
  /** Pauses between a held WebSocket's dials while the link is up (ms; see ws-relay.ts). */
  wsRetryMs?: readonly number[];
  /** How long a resumed kernel socket has to answer kernel_info before it is reconnected (ms, default 8000). */
  kernelAnswerMs?: number;
  /** The hub refused a request that carried the token (401/403): the token may be revoked. */
  onAuthRejected?: () => void;
  log?: (line: string) => void;
}

/** Headers of the page's WebSocket handshake that the relay's own handshake replaces. */
const WS_HANDSHAKE_HEADERS = new Set([
  'host',
  'connection',
  'upgrade',
  'sec-websocket-key',
  'sec-websocket-version',
  'sec-websocket-extensions',
  'sec-websocket-protocol',
  'content-length',
  'transfer-encoding',
]);

/**
 * The local gateway: an HTTP + WebSocket reverse proxy on 127.0.0.1 to the hub, through the
 * session's transport. Paths map one to one (the hub's prefix included), so JupyterLab's absolute
 * links work unchanged. It adds `Authorization: token …` and the hub's Host and Origin only to
 * requests that pass policy.ts; everything else gets 403 and never sees the token.
 */
export class LocalGateway {
  private readonly server: http.Server;
  private readonly secret = randomBytes(32).toString('base64url');
  /** One-time entry keys → when they expire and the page they land on. */
  private readonly entryKeys = new Map<string, { expires: number; landing: string }>();
  private readonly sockets = new Set<Socket>();
  private readonly relays = new Set<WsRelay>();
  private readonly wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: 512 * 1024 * 1024,
    // The page gets the subprotocol the hub chose for the relay's own handshake.
    handleProtocols: (_offered, req) => this.chosenProtocol.get(req) ?? false,
  });
  private readonly chosenProtocol = new WeakMap<http.IncomingMessage, string>();
  /** Kernel sockets relayed so far ("KERNEL:SESSION" of the page) → the session_id used upstream. */
  private readonly kernelSessions = new Map<string, string>();
  /** The hub's public_url origin, learned from its redirects (policy.ts hubPublicOrigin). */
  private readonly hubPublicOrigins = new Set<string>();
  private readonly transport: HubTransport;
  private boundPort = 0;
  private linkIsUp = true;
  private sessionReconnecting = false;
  private linkWaiters = new Set<() => void>();
  private closing = false;

  constructor(private readonly options: GatewayOptions) {
    this.transport = options.transport;
    // The write high-water mark of every response: Node's default (16 KiB) is below one SSH
    // packet (32 KiB), so a proxied download paused its pipe after every packet and went out as one
    // write() each. At 256 KiB the reads of a socket turn into one writev: +50% bulk throughput.
    this.server = http.createServer({ highWaterMark: RESPONSE_HIGH_WATER }, (req, res) => this.onRequest(req, res));
    this.server.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket as Socket, head));
    this.server.on('connection', (s: Socket) => {
      s.setNoDelay(true);
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
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

  get linkUp(): boolean {
    return this.linkIsUp;
  }

  /**
   * The link to the hub is down (the session is reconnecting): new requests wait for it a few
   * seconds, then get "reconnecting"; the page's WebSockets are held open, not closed.
   */
  setLinkDown(): void {
    if (!this.linkIsUp) return;
    this.linkIsUp = false;
    for (const r of this.relays) r.linkDown();
  }

  /** The link is back: waiting requests go through and held WebSockets dial the hub again. */
  setLinkUp(): void {
    if (this.linkIsUp) return;
    this.linkIsUp = true;
    const waiters = [...this.linkWaiters];
    this.linkWaiters.clear();
    for (const w of waiters) w();
    for (const r of this.relays) r.linkUp();
  }

  /**
   * The session is reconnecting (on) or back (off). The link may still be up — a hub that stopped
   * answering over a working SSH connection, e.g. while the facility restarts it — so requests
   * keep going through; but the page's WebSockets are held for as long as the session tries, not
   * given up after the relay's own ~24 s, and dial again at once when it is back.
   */
  setReconnecting(on: boolean): void {
    if (on === this.sessionReconnecting) return;
    this.sessionReconnecting = on;
    if (!on && this.linkIsUp) for (const r of this.relays) r.linkUp();
  }

  /** WebSockets relayed now, and how many of them wait for the link (for status and tests). */
  get webSockets(): { open: number; held: number; resumed: number } {
    let held = 0;
    let resumed = 0;
    for (const r of this.relays) {
      if (r.suspended) held++;
      resumed += r.resumed;
    }
    return { open: this.relays.size, held, resumed };
  }

  /** Resolves true when the link is up (now or within ms), false when it stays down. */
  private waitForLink(ms: number): Promise<boolean> {
    if (this.linkIsUp) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (up: boolean) => {
        clearTimeout(timer);
        this.linkWaiters.delete(onUp);
        resolve(up);
      };
      const onUp = () => done(true);
      const timer = setTimeout(() => done(this.linkIsUp), ms);
      this.linkWaiters.add(onUp);
    });
  }

  /**
   * A one-time URL that sets the session cookie and lands on the Lab page. The key in it is
   * single-use and expires after five minutes; it is not the hub token. `landing`: a hub path to
   * land on instead of the session's own (a bookmark's place; the caller makes it).
   */
  entryUrl(landing?: string): string {
    const key = randomBytes(24).toString('base64url');
    this.entryKeys.set(key, { expires: Date.now() + ENTRY_KEY_TTL_MS, landing: landing ?? this.options.landingPath });
    return `${this.origin}${ENTRY_PATH}?key=${key}`;
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const r of [...this.relays]) r.close();
    for (const w of [...this.linkWaiters]) w();
    this.linkWaiters.clear();
    this.wss.close();
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
    const hubPage = hubPageFor({ method: req.method, url: req.url, accept: req.headers.accept, fetchDest: headerValue(req.headers['sec-fetch-dest']) }, this.transport.hubUrl.pathname);
    if (hubPage) return this.answerHubPage(res, hubPage, url);
    if (this.linkIsUp) return this.forward(req, res);
    void this.waitForLink(this.options.waitForLinkMs ?? 4000).then((up) => {
      if (up && !this.closing) this.forward(req, res);
      else this.unavailable(req, res);
    });
  }

  /**
   * One request to the hub through the transport's agent, streamed both ways. Written here rather
   * than with a proxy library: what it must do is small (hop-by-hop headers, the hub's Host, the
   * answer's rewrites below), and http-proxy-3's general per-request setup cost a third of the
   * gateway's CPU per request (BENCHMARKS.md).
   */
  private forward(req: http.IncomingMessage, res: http.ServerResponse): void {
    const to = this.upstreamFor(req.url ?? '/');
    this.prepareOutgoing(req, to.origin);
    const headers = { ...withoutHopByHop(req.headers, false), host: to.host };
    // JupyterLab's page is rewritten on its way (lab-page.ts): ask for it uncompressed (~10 KB).
    if (isLabPageRequest(req.method, req.url)) headers['accept-encoding'] = 'identity';
    let upstream: http.ClientRequest | undefined;
    let done = false;
    // The page gave up on it (navigated away, aborted a poll): so does the hub side.
    res.on('close', () => {
      done = true;
      if (!res.writableFinished) upstream?.destroy();
    });
    const send = (retry: boolean): void => {
      const hub = this.transport.hubUrl;
      const tls = hub.protocol === 'https:';
      const request = tls ? loadHttps().request : http.request;
      let answered = false;
      const current = request(
        {
          host: hub.hostname.replace(/^\[(.*)\]$/, '$1'),
          port: hub.port || (tls ? 443 : 80),
          method: req.method,
          path: req.url,
          headers,
          agent: this.transport.agent,
        },
        (hubRes) => {
          answered = true;
          this.answer(req, res, hubRes);
        },
      );
      upstream = current;
      current.on('error', (err) => {
        if (done) return;
        // A kept-alive connection the hub closed just as this request went out on it: send it
        // once more on a fresh one, as browsers do, where that cannot repeat anything the hub
        // acted on (no body, a method that only reads).
        if (retry && current.reusedSocket && !answered && repeatable(req)) {
          this.options.log?.(`gateway: the hub closed a kept-alive connection under ${req.method ?? 'a'} request; sending it again`);
          return send(false);
        }
        this.options.log?.(`gateway: upstream error: ${err.message}`);
        this.unavailable(req, res);
      });
      if (repeatable(req)) current.end();
      else req.pipe(current);
    };
    send(true);
  }

  /** The hub's answer, on its way to the page: a few headers rewritten, the body streamed. */
  private answer(req: http.IncomingMessage, res: http.ServerResponse, hubRes: http.IncomingMessage): void {
    const status = hubRes.statusCode ?? 502;
    if (proxyHasNoRoute(status, hubRes.headers, req.url)) {
      // The hub restarting: "reconnecting" (504, Retry-After), not a 404 JupyterLab would show.
      hubRes.resume();
      this.unavailable(req, res);
      return;
    }
    if (status === 401 || status === 403) this.options.onAuthRejected?.();
    const headers = withoutHopByHop(hubRes.headers, true);
    const setCookie = hubRes.headers['set-cookie'];
    if (setCookie) headers['set-cookie'] = setCookie.map(rewriteSetCookie);
    const location = hubRes.headers.location;
    if (location) {
      // A hub with public_url names it in some absolute redirects: that origin is the hub too,
      // and stays on the gateway like the hub's own, for this and every later redirect.
      const learned = hubPublicOrigin(location, this.transport.hubUrl);
      if (learned && !this.hubPublicOrigins.has(learned)) {
        this.hubPublicOrigins.add(learned);
        this.options.log?.(`gateway: the hub's redirects name ${learned} (its public_url); they stay on the gateway`);
      }
      const upstream = [this.transport.hubUrl.origin, ...(this.options.serverHost ? [this.options.serverHost.origin] : []), ...this.hubPublicOrigins];
      headers.location = rewriteLocation(location, upstream, this.boundPort);
    }
    if (status === 200 && isLabPageRequest(req.method, req.url) && /^text\/html\b/i.test(hubRes.headers['content-type'] ?? '') && !hubRes.headers['content-encoding']) {
      return this.answerLabPage(res, hubRes, headers);
    }
    res.writeHead(status, hubRes.statusMessage, headers);
    // The hub side broke off mid-body: so must the page's, or it would take a cut body as whole.
    hubRes.on('close', () => {
      if (!hubRes.complete) res.destroy();
    });
    hubRes.pipe(res);
  }

  /** JupyterLab's page, read whole (it is small) and passed on with its app exposed (lab-page.ts). */
  private answerLabPage(res: http.ServerResponse, hubRes: http.IncomingMessage, headers: http.OutgoingHttpHeaders): void {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer): void => {
      chunks.push(c);
      size += c.length;
      if (size <= LAB_PAGE_MAX_BYTES) return;
      // Not a page this is for: pass it on as it is.
      hubRes.off('data', onData);
      hubRes.off('end', onEnd);
      res.writeHead(200, hubRes.statusMessage, headers);
      for (const chunk of chunks) res.write(chunk);
      hubRes.pipe(res);
    };
    const onEnd = (): void => {
      const raw = Buffer.concat(chunks);
      const rewritten = rewriteLabPage(raw.toString('utf8'));
      // Unchanged, it goes on byte for byte (whatever its charset).
      const body = rewritten === undefined ? raw : Buffer.from(rewritten, 'utf8');
      delete headers['transfer-encoding'];
      headers['content-length'] = String(body.length);
      res.writeHead(200, hubRes.statusMessage, headers);
      res.end(body);
    };
    hubRes.on('data', onData);
    hubRes.on('end', onEnd);
    hubRes.on('close', () => {
      if (!hubRes.complete) res.destroy();
    });
  }

  /**
   * The hub cannot be reached now: a page navigation gets a small page that says so and reloads
   * itself (503); anything else (JupyterLab's API calls) 504 Gateway Timeout with Retry-After.
   * Not 503: JupyterLab reads a 503 (or 424) from its kernel and session polls as JupyterHub
   * saying "your server is not running" and offers to restart it — a click there would spawn.
   * A 504 is a failed request to it: the polls back off and retry, and no dialog appears.
   */
  private unavailable(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const where = this.options.facilityName ?? 'the hub';
    const navigation = req.method === 'GET' && (req.headers['sec-fetch-dest'] === 'document' || /\btext\/html\b/.test(req.headers.accept ?? ''));
    if (navigation) {
      res.writeHead(503, { ...OWN_PAGE_HEADERS, 'retry-after': '3' });
      res.end(reconnectingPage(where));
      return;
    }
    res.writeHead(504, { 'content-type': 'application/json', 'cache-control': 'no-store', 'retry-after': '2' });
    res.end(JSON.stringify({ message: `Roamlab is reconnecting to ${where}; try again in a moment.`, reason: 'reconnecting' }));
  }

  /** Roamlab's page in place of the hub's control panel, its logout or its start page (policy.ts hubPageFor). */
  private answerHubPage(res: http.ServerResponse, page: HubPage, url: URL): void {
    const through = new URL(url.href);
    through.search = through.search ? `${through.search}&${HUB_PAGE_PASS}` : `?${HUB_PAGE_PASS}`;
    res.writeHead(200, OWN_PAGE_HEADERS);
    res.end(hubPageHtml(page, this.options.facilityName ?? 'the facility', this.options.landingPath, through.pathname + through.search));
  }

  private onUpgrade(req: http.IncomingMessage, socket: Socket, head: Buffer): void {
    const verdict = judgeRequest({ host: req.headers.host, origin: req.headers.origin, cookieHeader: req.headers.cookie }, this.boundPort, this.secret);
    if (!verdict.allow) {
      socket.end(`HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
      return;
    }
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    void this.relay(req, socket, head);
  }

  /** Open the hub side first, then complete the page's handshake with the subprotocol it chose. */
  private async relay(req: http.IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
    const refuse = (status: number, text: string, retryAfter?: number): void => {
      const extra = retryAfter ? `Retry-After: ${retryAfter}\r\n` : '';
      socket.end(`HTTP/1.1 ${status} ${text}\r\n${extra}Content-Length: 0\r\nConnection: close\r\n\r\n`);
    };
    if (this.closing) return refuse(503, 'Service Unavailable', 2);
    const env = this.relayEnv(req);
    const accept = (first: WebSocket | undefined, protocol: string | undefined): void => {
      if (protocol) this.chosenProtocol.set(req, protocol);
      this.wss.handleUpgrade(req, socket, head, (page) => {
        const relay = new WsRelay(page, first, env, (r) => this.relays.delete(r));
        this.relays.add(relay);
      });
    };
    if (!(await this.waitForLink(this.options.waitForLinkMs ?? 4000))) {
      // The link stays down: accept the page's socket now and connect it to the hub when the link
      // is back. Refused, JupyterLab would retry with growing pauses and give up after about two
      // minutes (a kernel shown as disconnected); held, it just waits. It gets the page's first
      // subprotocol (Jupyter offers one); if the hub later chooses otherwise, the relay closes it
      // with the link up and the page opens it again at once.
      if (this.closing || socket.destroyed) return;
      return accept(undefined, offeredProtocols(req)[0]);
    }
    const first = await dialAndOpen(env);
    if (this.closing || socket.destroyed) {
      if (first.ok) first.ws.terminate();
      socket.destroy();
      return;
    }
    if (!first.ok && this.sessionReconnecting && isTransient(first)) {
      // The hub is away while the session reconnects to it: hold this socket like the others.
      return accept(undefined, offeredProtocols(req)[0]);
    }
    if (!first.ok) {
      this.options.log?.(`gateway: websocket to the hub failed: ${first.message}`);
      if (first.status === 401 || first.status === 403) this.options.onAuthRejected?.();
      if (first.status) return refuse(first.status, http.STATUS_CODES[first.status] ?? 'Error');
      return refuse(503, 'Service Unavailable', 2);
    }
    accept(first.ws, first.ws.protocol);
  }

  /** How a relay reaches the hub: always through the current transport, with fresh headers. */
  private relayEnv(req: http.IncomingMessage): RelayEnv {
    const pagePath = req.url ?? '/';
    const protocols = offeredProtocols(req);
    const pageHeaders = { ...req.headers };
    const kernel = kernelChannel(pagePath);
    const key = kernel && `${kernel.kernelId}:${kernel.sessionId}`;
    const seen = key !== undefined && this.kernelSessions.has(key);
    if (key && !seen) this.kernelSessions.set(key, kernel.sessionId);
    const upstreamPath = (): string => {
      const id = key && this.kernelSessions.get(key);
      return id && id !== kernel.sessionId ? withSessionId(pagePath, id) : pagePath;
    };
    const spec = (): UpstreamSpec => {
      const to = this.upstreamFor(pagePath);
      const h: http.IncomingHttpHeaders = { ...pageHeaders };
      this.prepareOutgoing({ headers: h } as http.IncomingMessage, to.origin);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(h)) {
        if (v === undefined || WS_HANDSHAKE_HEADERS.has(k)) continue;
        headers[k] = Array.isArray(v) ? v.join(', ') : v;
      }
      // Connected to the hub's address; Host names the hub, or a user's own host (subdomain_host).
      headers.host = to.host;
      const hub = this.transport.hubUrl;
      const url = `${hub.protocol === 'https:' ? 'wss:' : 'ws:'}//${hub.host}${upstreamPath()}`;
      return { url, protocols, headers };
    };
    const check: KernelCheck | undefined = key
      ? {
          checkFirst: seen,
          answerWithinMs: this.options.kernelAnswerMs ?? 8000,
          executionState: () => this.kernelState(pagePath.split('?')[0]!.replace(/\/channels$/, '')),
          renewSession: () => this.kernelSessions.set(key, randomUUID()),
        }
      : undefined;
    return {
      agent: () => this.transport.agent,
      spec,
      linkUp: () => this.linkIsUp && !this.closing,
      reconnecting: () => this.sessionReconnecting,
      retryMs: this.options.wsRetryMs,
      kernel: check,
      log: this.options.log,
    };
  }

  /** GET a kernel's model (…/api/kernels/ID) for its execution_state; undefined on any failure. */
  private async kernelState(path: string): Promise<string | undefined> {
    try {
      const res = await hubRequest(this.transport, {
        method: 'GET',
        path,
        headers: { Authorization: `token ${this.options.token()}`, Accept: 'application/json' },
        timeoutMs: 10_000,
        action: "tell the kernel's state",
        host: hostForPath(path, this.options.serverHost),
      });
      const state = res.status === 200 ? (JSON.parse(res.body) as { execution_state?: unknown }).execution_state : undefined;
      return typeof state === 'string' ? state : undefined;
    } catch {
      return undefined;
    }
  }

  private enter(req: http.IncomingMessage, res: http.ServerResponse, url: URL): void {
    if (!hostAllowed(req.headers.host, this.boundPort)) return this.deny(res, 'host');
    const key = url.searchParams.get('key') ?? '';
    const entry = this.entryKeys.get(key);
    const valid = entry !== undefined && entry.expires > Date.now();
    this.entryKeys.delete(key);
    const alreadyIn = sameSecret(readCookie(req.headers.cookie, cookieName(this.boundPort)), this.secret);
    if (!valid && !alreadyIn) {
      res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      res.end('This Roamlab entry link was already used or has expired. Open the session again from Roamlab to get a new one.\n');
      return;
    }
    res.writeHead(302, {
      'set-cookie': `${cookieName(this.boundPort)}=${this.secret}; Path=/; HttpOnly; SameSite=Strict`,
      location: valid ? entry.landing : this.options.landingPath,
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer',
    });
    res.end();
  }

  /**
   * Where a page's request goes: the Host to name, and that host's origin. The hub's own, or on a
   * hub with subdomain_host, the user's host for paths under their prefix.
   */
  private upstreamFor(pagePath: string): { host: string; origin: string } {
    return hostForPath(pagePath, this.options.serverHost) ?? { host: this.transport.hubUrl.host, origin: this.transport.hubUrl.origin };
  }

  /** Headers for the hub, set on the incoming request before it is forwarded (or relayed) to `hubOrigin`. */
  private prepareOutgoing(req: http.IncomingMessage, hubOrigin: string): void {
    const h = req.headers;
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

/** Headers that belong to one connection, not to the message (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'upgrade']);

/**
 * A message's headers without the hop-by-hop ones, and without those its Connection header names.
 * A response also loses Transfer-Encoding: Node frames the body again for the page's connection
 * (a request keeps it, as its body is passed on as it came).
 */
function withoutHopByHop(headers: http.IncomingHttpHeaders, response: boolean): http.OutgoingHttpHeaders {
  const named = new Set((headers.connection ?? '').split(',').map((h) => h.trim().toLowerCase()));
  const out: http.OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined || HOP_BY_HOP.has(k) || named.has(k) || (response && k === 'transfer-encoding')) continue;
    out[k] = v;
  }
  return out;
}

/** A request that may be sent again: it only reads (RFC 9110 §9.2.1) and has no body to resend. */
function repeatable(req: http.IncomingMessage): boolean {
  const m = req.method ?? 'GET';
  const bodyless = req.headers['transfer-encoding'] === undefined && (req.headers['content-length'] ?? '0') === '0';
  return (m === 'GET' || m === 'HEAD' || m === 'OPTIONS') && bodyless;
}

/** The subprotocols the page offered in its WebSocket handshake, in its order. */
function offeredProtocols(req: http.IncomingMessage): string[] {
  return (req.headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function headerValue(h: string | string[] | undefined): string | undefined {
  return Array.isArray(h) ? h[0] : h;
}

/** Headers of the gateway's own pages: never cached, no script, nothing fetched (inline style only). */
const OWN_PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
} as const;

/** One of the gateway's own small pages (reconnecting, the hub's control panel and logout). */
function ownPage(o: { title: string; body: string; head?: string; style?: string }): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">${o.head ?? ''}<title>${o.title}</title>
<style>body{font:15px/1.5 system-ui,sans-serif;margin:0;display:grid;place-items:center;min-height:100vh;color:#333;background:#fafafa}
@media (prefers-color-scheme: dark){body{color:#ddd;background:#1e1e1e}a{color:#8ab4f8}}main{max-width:34em;padding:1em}code{font-size:90%}${o.style ?? ''}</style></head>
<body><main>${o.body}</main></body></html>
`;
}

/**
 * What the gateway shows for the hub's control panel and its logout (policy.ts hubPageFor):
 * where those things are in Roamlab, and the way back to the Lab page.
 */
export function hubPageHtml(page: HubPage, facility: string, landingPath: string, passThrough: string): string {
  const where = escapeHtml(facility);
  const back = `<a href="${escapeHtml(landingPath)}">Back to your notebooks</a>`;
  const anyway = `<a href="${escapeHtml(passThrough)}">Sign in to the hub's page anyway</a>`;
  const tokenOnly = 'Roamlab signs in with a token, which the hub takes for your server but not for its own pages.';
  const pages: Record<HubPage, { title: string; body: string }> = {
    logout: {
      title: 'Still signed in',
      body: `<h1>You are still signed in to ${where}</h1>
<p>Log Out signs a browser out of the hub. Roamlab signs in for you, with a token it keeps in your system keychain, so nothing was signed out, and your server keeps running.</p>
<p>To sign out, use <b>Sign out</b> in the Roamlab window (or <code>roamlab logout</code> in a terminal). To stop your server, use <b>Stop</b> there (or <code>roamlab stop</code>).</p>
<p>${back}</p>`,
    },
    'control-panel': {
      title: 'Your servers',
      body: `<h1>Your servers at ${where} are in the Roamlab window</h1>
<p>Start, stop or switch to another class there (or <code>roamlab status</code> and <code>roamlab stop</code> in a terminal).</p>
<p>The hub's own control panel asks you to sign in to the hub again: ${tokenOnly}</p>
<p>${back} · ${anyway}</p>`,
    },
    spawn: {
      title: 'Start your server',
      body: `<h1>Start your server at ${where} from the Roamlab window</h1>
<p>When your server has stopped (its runtime ran out, it was culled or stopped), the Roamlab window says so and starts it again with the class you choose, then opens your notebooks here (or <code>roamlab start</code> in a terminal). If it is still running, it is back where you were.</p>
<p>The hub's own start page asks you to sign in to the hub again: ${tokenOnly}</p>
<p>${back} · ${anyway}</p>`,
    },
  };
  return ownPage({ title: `${pages[page].title} · Roamlab`, body: pages[page].body });
}

/** The page a navigation gets while the link is down: it says so and reloads itself. */
function reconnectingPage(where: string): string {
  return ownPage({
    title: 'Reconnecting…',
    head: '<meta http-equiv="refresh" content="3">',
    style: 'main{max-width:32em;text-align:center}',
    body: `<h1>Reconnecting to ${escapeHtml(where)}…</h1>
<p>The connection to the hub is interrupted. Roamlab is bringing it back; this page reloads by itself.
Your server and its kernels keep running meanwhile.</p>`,
  });
}

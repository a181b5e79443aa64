import * as http from 'node:http';
import { RoamlabError, type ErrorDetails } from '../errors';
import { loadHttps } from '../lazy-modules';
import type { ForwardError } from '../transport/ssh-transport';
import type { HubTransport } from '../transport/transport';

/**
 * A small HTTP helper for talking to a JupyterHub through a HubTransport's agent.
 *
 * Rules it keeps:
 * - Every path is resolved against the hub's base URL (which may carry a prefix such as /jhub/);
 *   absolute paths ('/jhub/user/x/') are only used for URLs the hub itself handed out.
 * - Tokens travel only in `Authorization: token …` headers, never in URLs.
 * - Error messages and logs name the origin and path only: no query strings, no headers.
 */

export type HttpMethod = 'GET' | 'POST' | 'DELETE' | 'PATCH' | 'PUT' | 'HEAD';

export interface HubRequestOptions {
  method: HttpMethod;
  /** Relative to the hub base URL ('hub/api/user'), or an absolute path the hub handed out. */
  path: string;
  headers?: Record<string, string>;
  /** A JSON body (sent as application/json). */
  json?: unknown;
  /** A form body (sent as application/x-www-form-urlencoded). */
  form?: Record<string, string>;
  /** Wall-clock limit: for a buffered request until the body has arrived, for a stream until the headers have. */
  timeoutMs: number;
  signal?: AbortSignal;
  /** What this request is for, in words, for error messages ("start your server"). */
  action?: string;
  /**
   * A user's own host, for a request to their server on a hub with subdomain_host
   * (`ServerModel.host`): sent as Host (and TLS name); the connection still goes to the hub URL's
   * address, where the proxy routes by Host.
   */
  host?: ServerHost;
}

/**
 * A user's server on a host of its own: JupyterHub with `subdomain_host` gives every user a host
 * name (alice.hub.example.org), served by the same proxy as the hub and routed by the Host
 * header (JupyterHub requires a wildcard DNS entry and certificate for the proxy). Roamlab
 * reaches it where it reaches the hub — through the hub URL's address, directly or through the
 * SSH gateway — and names the user's host in Host, so no other name has to resolve.
 */
export interface ServerHost {
  /** For the Host header: `alice.hub.example.org[:port]`. */
  host: string;
  /** `https://alice.hub.example.org[:port]`, for Origin and Location rewrites. */
  origin: string;
  /** Paths on that host: the user's prefix, `/jhub/user/alice/` (all their named servers). */
  pathPrefix: string;
}

/**
 * A server URL as the hub's REST API gives it, split: the path on the hub's origin, and — on a hub
 * with subdomain_host, whose `url` is absolute (`http://alice.hub…/user/alice/`) — the user's host.
 * Undefined for a URL neither on the hub's origin nor a path.
 */
export function splitServerUrl(url: string, hubUrl: URL): { path: string; host?: ServerHost } | undefined {
  if (url.startsWith('/') && !url.startsWith('//')) return { path: url };
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return undefined;
  if (u.origin === hubUrl.origin) return { path: u.pathname };
  const m = /^(.*?\/user\/[^/]+\/)/.exec(u.pathname);
  return { path: u.pathname, host: { host: u.host, origin: u.origin, pathPrefix: m ? m[1]! : u.pathname } };
}

/** The server host a request path belongs to, if any. */
export function hostForPath(path: string, host: ServerHost | undefined): ServerHost | undefined {
  return host && path.startsWith(host.pathPrefix) ? host : undefined;
}

export interface HubResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The raw Set-Cookie headers. */
  setCookies: string[];
  /** origin + path of the request (no query), for messages. */
  target: string;
}

export interface HubStreamResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  stream: http.IncomingMessage;
  target: string;
  /** Stop reading and drop the connection. */
  close(): void;
}

export const USER_AGENT = 'Roamlab/0.1';
const MAX_BODY_BYTES = 16 * 1024 * 1024;

/** The hub base URL with a trailing slash and without query or fragment. */
export function hubBase(hubUrl: URL): URL {
  const base = new URL(hubUrl.href);
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  base.search = '';
  base.hash = '';
  return base;
}

/** Resolve a request path against the hub base URL, keeping the hub's origin. */
export function resolveHubUrl(hubUrl: URL, path: string): URL {
  const base = hubBase(hubUrl);
  if (/^[a-z][a-z0-9+.-]*:/i.test(path) || path.startsWith('//')) {
    throw new RoamlabError('usage', 'Refusing to send a hub request to another origin.', 'This is a bug in Roamlab; please report it.');
  }
  const url = new URL(path, base);
  if (url.origin !== base.origin) {
    throw new RoamlabError('usage', 'Refusing to send a hub request to another origin.', 'This is a bug in Roamlab; please report it.');
  }
  return url;
}

/** origin + path, for messages: never the query string. */
export function describeTarget(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

const UNREACHABLE_HINT =
  'Check the network connection (and VPN or SSH gateway), and the hub URL in the facility profile.';

/**
 * What a TLS failure code means to the person (Node's codes: OpenSSL's verify errors, and its own
 * for a name mismatch); undefined when the code is not about TLS. The certificate was checked
 * against Node's CAs and the system's store (transport/trust-store.ts).
 */
export function tlsProblem(code: string): { what: string; hint: string } | undefined {
  switch (code) {
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'UNABLE_TO_GET_ISSUER_CERT':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
      return {
        what: 'its TLS certificate is signed by an authority this computer does not trust',
        hint:
          "If the facility uses a certificate authority of its own, install that CA's certificate in this computer's certificate store " +
          '(ask the facility or your IT department for it; on Linux: update-ca-certificates or update-ca-trust), then try again. Check the hub URL in the profile, too.',
      };
    case 'CERT_HAS_EXPIRED':
    case 'CERT_NOT_YET_VALID':
      return {
        what: code === 'CERT_HAS_EXPIRED' ? 'its TLS certificate has expired' : 'its TLS certificate is not valid yet',
        hint: "Check that this computer's date and time are right; if they are, the facility has to renew the hub's certificate.",
      };
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return {
        what: 'its TLS certificate is for another host name',
        hint: 'Check the host name in the hub URL of the facility profile: it has to be the name the hub\'s certificate is issued for.',
      };
  }
  if (/CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO/i.test(code)) {
    return { what: `its TLS certificate was not accepted (${code})`, hint: 'Check the hub URL in the facility profile, and ask the facility about its certificate.' };
  }
  return undefined;
}

function connectionError(err: NodeJS.ErrnoException, url: URL, transport: HubTransport): RoamlabError {
  const code = err.code ?? 'error';
  const via = transport.describe && transport.describe !== 'direct' ? ` (via ${transport.describe})` : '';
  const refused = (err as Partial<ForwardError>).forwardRefused;
  if (refused) {
    // The SSH gateway answered; the hop from it to the hub failed (ssh-transport.ts forwardError).
    return new RoamlabError(
      'hub-unreachable',
      `Cannot reach the hub at ${url.origin}${via}: ${err.message}.`,
      refused === 'prohibited'
        ? 'The gateway refuses tunnels to this host and port. Check the hub URL in the facility profile, or ask the facility which address its gateway lets you reach the hub on.'
        : 'The gateway is reachable but the hub behind it is not: check the hub URL in the facility profile (its host name and port as the gateway sees them), or ask the facility whether the hub is up.',
      { code, target: describeTarget(url) },
      { cause: err },
    );
  }
  const tls = tlsProblem(code);
  return new RoamlabError(
    'hub-unreachable',
    `Cannot reach the hub at ${url.origin}${via}: ${tls ? tls.what : code}.`,
    tls ? tls.hint : UNREACHABLE_HINT,
    { code, target: describeTarget(url) },
    { cause: err },
  );
}

function timeoutError(url: URL, ms: number, action?: string): RoamlabError {
  return new RoamlabError(
    'hub-timeout',
    `The hub at ${url.origin} did not answer within ${Math.round(ms / 1000)} s${action ? ` (${action})` : ''}.`,
    'The hub or the network is slow or down; try again in a moment.',
    { target: describeTarget(url), timeoutMs: ms },
  );
}

function cancelledError(): RoamlabError {
  return new RoamlabError('cancelled', 'Cancelled.', '');
}

interface Sent {
  req: http.ClientRequest;
  res: Promise<http.IncomingMessage>;
  url: URL;
}

/** Issue a request and resolve when the response headers are in. The caller owns the timer. */
function send(transport: HubTransport, o: HubRequestOptions, url: URL): Sent {
  const headers: Record<string, string> = { 'User-Agent': USER_AGENT, ...o.headers };
  if (o.host) headers.Host = o.host.host;
  let body: Buffer | undefined;
  if (o.json !== undefined) {
    body = Buffer.from(JSON.stringify(o.json), 'utf8');
    headers['Content-Type'] = 'application/json';
  } else if (o.form !== undefined) {
    body = Buffer.from(new URLSearchParams(o.form).toString(), 'utf8');
    headers['Content-Type'] = 'application/x-www-form-urlencoded';
  }
  if (body) headers['Content-Length'] = String(body.length);
  else if (o.method === 'POST' || o.method === 'PUT' || o.method === 'PATCH') headers['Content-Length'] = '0';
  const mod = url.protocol === 'https:' ? loadHttps() : http;
  const req = mod.request(url, { method: o.method, agent: transport.agent, headers });
  const res = new Promise<http.IncomingMessage>((resolve, reject) => {
    req.once('response', resolve);
    req.once('error', reject);
  });
  // A late second error (socket torn down after a destroy) must not become an uncaught exception.
  req.on('error', () => undefined);
  req.end(body);
  return { req, res, url };
}

function isRetryableReuse(err: unknown, req: http.ClientRequest): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return req.reusedSocket && (code === 'ECONNRESET' || code === 'EPIPE');
}

async function withGuards<T>(
  transport: HubTransport,
  o: HubRequestOptions,
  run: (url: URL, setReq: (r: http.ClientRequest) => void) => Promise<T>,
): Promise<T> {
  const url = resolveHubUrl(transport.hubUrl, o.path);
  if (o.signal?.aborted) throw cancelledError();
  let current: http.ClientRequest | undefined;
  let failure: RoamlabError | undefined;
  const fail = (e: RoamlabError): void => {
    if (failure) return;
    failure = e;
    current?.destroy(e);
  };
  const timer = setTimeout(() => fail(timeoutError(url, o.timeoutMs, o.action)), o.timeoutMs);
  const onAbort = (): void => fail(cancelledError());
  o.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return await run(url, (r) => {
      current = r;
      if (failure) r.destroy(failure);
    });
  } catch (e) {
    if (failure) throw failure;
    if (e instanceof RoamlabError) throw e;
    throw connectionError(e as NodeJS.ErrnoException, url, transport);
  } finally {
    clearTimeout(timer);
    o.signal?.removeEventListener('abort', onAbort);
  }
}

function readBody(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        res.destroy(new Error('response too large'));
        return;
      }
      chunks.push(c);
    });
    res.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.once('error', reject);
    res.once('aborted', () => reject(Object.assign(new Error('response aborted'), { code: 'ECONNRESET' })));
  });
}

function setCookiesOf(res: http.IncomingMessage): string[] {
  const sc = res.headers['set-cookie'];
  return Array.isArray(sc) ? sc : sc ? [sc] : [];
}

/** A buffered request. Never follows redirects: a 3xx comes back to the caller as is. */
export function hubRequest(transport: HubTransport, o: HubRequestOptions): Promise<HubResponse> {
  return withGuards(transport, o, async (url, setReq) => {
    // A kept-alive socket may have been closed by the hub between requests; an idempotent
    // request that failed on a reused socket before any answer is tried once more.
    for (let attempt = 0; ; attempt++) {
      const s = send(transport, o, url);
      setReq(s.req);
      try {
        const res = await s.res;
        const body = await readBody(res);
        return { status: res.statusCode ?? 0, headers: res.headers, body, setCookies: setCookiesOf(res), target: describeTarget(url) };
      } catch (e) {
        const idempotent = o.method === 'GET' || o.method === 'HEAD';
        if (attempt === 0 && idempotent && isRetryableReuse(e, s.req) && !o.signal?.aborted) continue;
        throw e;
      }
    }
  });
}

/** A streaming request (server-sent events): resolves once the headers are in. */
export async function hubStream(transport: HubTransport, o: HubRequestOptions): Promise<HubStreamResponse> {
  return withGuards(transport, o, async (url, setReq) => {
    for (let attempt = 0; ; attempt++) {
      const s = send(transport, o, url);
      setReq(s.req);
      try {
        const res = await s.res;
        const req = s.req;
        // After the headers, the stream belongs to the caller: detach our guards from it.
        req.removeAllListeners('error');
        req.on('error', () => undefined);
        res.on('error', () => undefined);
        return {
          status: res.statusCode ?? 0,
          headers: res.headers,
          stream: res,
          target: describeTarget(url),
          close: () => {
            res.destroy();
            req.destroy();
          },
        };
      } catch (e) {
        if (attempt === 0 && isRetryableReuse(e, s.req) && !o.signal?.aborted) continue;
        throw e;
      }
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Cookies: an in-memory jar for one hub origin (the browser-style login). Never persisted.

interface StoredCookie {
  name: string;
  value: string;
  path: string;
}

export class CookieJar {
  private cookies = new Map<string, StoredCookie>();

  /** Take the Set-Cookie headers of a response to `requestUrl`. */
  store(setCookies: string[], requestUrl: URL): void {
    for (const line of setCookies) {
      const [pair, ...attrs] = line.split(';');
      if (!pair) continue;
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      let path = defaultCookiePath(requestUrl.pathname);
      let expired = false;
      for (const a of attrs) {
        const ai = a.indexOf('=');
        const k = (ai < 0 ? a : a.slice(0, ai)).trim().toLowerCase();
        const v = ai < 0 ? '' : a.slice(ai + 1).trim();
        if (k === 'path' && v.startsWith('/')) path = v;
        else if (k === 'max-age' && Number(v) <= 0) expired = true;
        else if (k === 'expires') {
          const t = Date.parse(v);
          if (!Number.isNaN(t) && t <= Date.now()) expired = true;
        }
      }
      const key = `${name}\u0000${path}`;
      if (expired || value === '' || value === '""') this.cookies.delete(key);
      else this.cookies.set(key, { name, value, path });
    }
  }

  /** The Cookie header for a request to `url` (most specific path first), or undefined. */
  header(url: URL): string | undefined {
    const matching = [...this.cookies.values()]
      .filter((c) => pathMatches(url.pathname, c.path))
      .sort((a, b) => b.path.length - a.path.length);
    return matching.length ? matching.map((c) => `${c.name}=${c.value}`).join('; ') : undefined;
  }

  /** The value of a cookie sent to `url`, most specific path first. */
  get(name: string, url: URL): string | undefined {
    return [...this.cookies.values()]
      .filter((c) => c.name === name && pathMatches(url.pathname, c.path))
      .sort((a, b) => b.path.length - a.path.length)[0]?.value;
  }

  get size(): number {
    return this.cookies.size;
  }

  clear(): void {
    this.cookies.clear();
  }
}

function defaultCookiePath(requestPath: string): string {
  const i = requestPath.lastIndexOf('/');
  return i <= 0 ? '/' : requestPath.slice(0, i);
}

function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/';
}

// ---------------------------------------------------------------------------------------------
// Hub answers → typed errors.

/**
 * Seconds to wait from a Retry-After header: delta-seconds or an HTTP date. Undefined when the
 * header is missing or unreadable.
 */
export function parseRetryAfter(value: string | string[] | undefined, now: number = Date.now()): number | undefined {
  const v = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!v) return undefined;
  if (/^\d+$/.test(v)) return Number(v);
  const t = Date.parse(v);
  if (Number.isNaN(t)) return undefined;
  return Math.max(0, Math.ceil((t - now) / 1000));
}

/**
 * The hub's own error text: JupyterHub's API answers `{"status": 400, "message": "..."}`.
 * Undefined for non-JSON bodies (HTML error pages, proxies).
 */
export function hubMessageOf(body: string): string | undefined {
  const trimmed = body.trim();
  if (!trimmed.startsWith('{')) return undefined;
  try {
    const parsed: unknown = JSON.parse(trimmed);
    if (parsed && typeof parsed === 'object' && 'message' in parsed) {
      const m = (parsed as { message?: unknown }).message;
      if (typeof m === 'string' && m.trim()) return m.trim();
    }
  } catch {
    return undefined;
  }
  return undefined;
}

export interface HubErrorContext {
  /** What we were doing, in words: "start your server". */
  action: string;
  /** origin + path. */
  target: string;
}

export const GARBAGE_HINT = "check the hub URL in the facility profile (it must point at the JupyterHub, including any path prefix such as /jhub/).";

/** A non-JSON answer where JupyterHub's API answers JSON. */
export function garbageError(ctx: HubErrorContext, status: number, why = 'something that is not JupyterHub\'s API'): RoamlabError {
  const origin = safeOrigin(ctx.target);
  return new RoamlabError(
    'hub-garbage',
    `The hub at ${origin} answered with ${why} (HTTP ${status}) when asked to ${ctx.action}.`,
    `The address may not be a JupyterHub, or a login portal or proxy is in between: ${GARBAGE_HINT}`,
    { status, target: ctx.target },
  );
}

function safeOrigin(target: string): string {
  try {
    return new URL(target).origin;
  } catch {
    return target;
  }
}

/**
 * Map a non-success hub answer to a typed error. Pure: status, headers and body in, error out.
 */
export function hubErrorFromResponse(
  res: { status: number; headers: http.IncomingHttpHeaders; body: string },
  ctx: HubErrorContext,
  now: number = Date.now(),
): RoamlabError {
  const status = res.status;
  const hubMessage = hubMessageOf(res.body);
  const details: ErrorDetails = { status, target: ctx.target };
  if (hubMessage) details.hubMessage = hubMessage;
  // The hub's own words, without a closing period of their own (the sentence adds one).
  const said = hubMessage ? `: ${hubMessage.replace(/[.\s]+$/, '')}` : ` (HTTP ${status})`;
  const lower = (hubMessage ?? '').toLowerCase();

  if (status === 401 || status === 403) {
    return new RoamlabError('hub-forbidden', `The hub refused to ${ctx.action}${said}.`, 'Sign in again: the hub token may have expired or been revoked.', details);
  }
  if (status === 400) {
    if (lower.includes('already running')) {
      return new RoamlabError('hub-already-running', `The hub refused to ${ctx.action}${said}.`, 'Your server is already running: connect to it, or stop it first to start a different class.', details);
    }
    if (lower.includes('pending stop')) {
      return new RoamlabError('hub-pending-stop', `The hub refused to ${ctx.action}${said}.`, 'The server is still stopping; wait a moment and try again.', { ...details, pending: 'stop' });
    }
    if (lower.includes('pending spawn')) {
      return new RoamlabError('hub-already-running', `The hub refused to ${ctx.action}${said}.`, 'The server is still starting; wait until it is up, then try again.', { ...details, pending: 'spawn' });
    }
    if (lower.includes('pending')) {
      return new RoamlabError('hub-pending-stop', `The hub refused to ${ctx.action}${said}.`, 'The hub is still busy with this server; wait a moment and try again.', details);
    }
    return new RoamlabError('hub-bad-request', `The hub refused to ${ctx.action}${said}.`, 'Check the notebook class and options in the facility profile against what the hub offers.', details);
  }
  if (status === 404) {
    return new RoamlabError('hub-not-found', `The hub has no such resource when asked to ${ctx.action}${said}.`, `The user or server may not exist on this hub; otherwise ${GARBAGE_HINT}`, details);
  }
  if (status === 424) {
    return new RoamlabError('hub-server-stopped', `Your server is not running${said}.`, 'Start the server again.', details);
  }
  if (status === 429) {
    const retryAfterSeconds = parseRetryAfter(res.headers['retry-after'], now);
    if (retryAfterSeconds !== undefined) details.retryAfterSeconds = retryAfterSeconds;
    const wait = retryAfterSeconds !== undefined ? `try again in ${retryAfterSeconds} s` : 'try again in a little while';
    return new RoamlabError('hub-rate-limited', `The hub is too busy to ${ctx.action} right now${said}.`, `Too many servers are starting at once; ${wait}.`, details);
  }
  if (status >= 500) {
    return new RoamlabError('hub-server-error', `The hub failed while asked to ${ctx.action}${said}.`, 'This is a problem on the hub side; try again later, and tell the facility if it persists.', details);
  }
  if (status >= 300 && status < 400) {
    return garbageError(ctx, status, 'a redirect');
  }
  return new RoamlabError('hub-bad-request', `The hub refused to ${ctx.action}${said}.`, 'Check the facility profile; if it looks right, report this with the log file.', details);
}

/** Parse a JSON API body, or fail with 'hub-garbage'. */
export function parseJsonBody(res: HubResponse, action: string): unknown {
  const ctx = { action, target: res.target };
  const ct = String(res.headers['content-type'] ?? '');
  const text = res.body.trim();
  if (!text || (!ct.includes('json') && !text.startsWith('{') && !text.startsWith('['))) throw garbageError(ctx, res.status);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw garbageError(ctx, res.status);
  }
}

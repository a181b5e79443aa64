import { createParser } from 'eventsource-parser';
import * as z from '../../common/zod';
import { RoamlabError, isRoamlabError } from '../errors';
import { loadHtmlParser } from '../lazy-modules';
import type { HubTransport } from '../transport/transport';
import {
  CookieJar,
  garbageError,
  hubErrorFromResponse,
  hubRequest,
  hubStream,
  parseJsonBody,
  resolveHubUrl,
  type HttpMethod,
  type HubResponse,
  type HubStreamResponse,
  type ServerHost,
  splitServerUrl,
} from './http';
import { parseSpawnForm, type SpawnForm } from './spawn-form';

/**
 * The JupyterHub REST client: sign in (browser-style form login, then an API token), spawn a
 * server with a notebook class and follow its progress, read its state, stop it.
 *
 * Tested against JupyterHub 3.0 (Debian 12) and 5.2 (Debian 13). Where they differ:
 * - Login: 5.x (≥ 4.1) checks an `_xsrf` field on POST hub/login (the hidden input; its
 *   anonymous id is bound to the User-Agent and client address, so we keep one User-Agent).
 *   Cookie-authenticated API POSTs must echo the `_xsrf` cookie in `X-XSRFToken`; the cookie
 *   the login answer sets is bound to the pre-login session and refused (5.2), so one page
 *   view (hub/home) after login fetches the valid one. 3.0 has no XSRF at all, but refuses
 *   cookie-authenticated API requests without a same-origin `Referer` under the hub's base
 *   URL (403 "Forbidden"). We do all of it, so one code path serves both.
 * - Token creation: both accept a cookie-authenticated POST …/tokens; both also accept
 *   `{"auth": {"username", "password"}}` in the body (our fallback). 5.x refuses a non-integer
 *   `expires_in` and one above `token_expires_in_max_seconds` (400).
 * - Stopping during a pending spawn: 5.x cancels the spawn (DELETE → 202/204); 3.0 answers
 *   400 "… is pending spawn, please wait" — we retry the DELETE until the spawn has settled.
 * - Both hold the spawn POST for up to `slow_spawn_timeout` (10 s by default): a spawn shorter
 *   than that answers 201 only once the server is up, so its progress messages can only be
 *   seen by following the event stream while the POST is still in flight — which we do.
 */

export interface HubVersion {
  version: string;
  major: number;
  minor: number;
}

/** A server as the hub's user model describes it (`servers[name]`). */
export interface ServerModel {
  name: string;
  ready: boolean;
  /** 'spawn' | 'stop' | 'check' | null */
  pending: string | null;
  started: string | null;
  /** The server's URL path, with the hub's prefix (e.g. '/jhub/user/alice/'). */
  url: string;
  /** On a hub with subdomain_host: the user's own host, which that path is on (http.ts). */
  host?: ServerHost;
  user_options: Record<string, unknown>;
  progress_url: string;
  stopped?: boolean;
  last_activity?: string | null;
  [key: string]: unknown;
}

export interface UserModel {
  name: string;
  admin?: boolean;
  /** Present when the token may read servers; only active servers are listed. */
  servers?: Record<string, ServerModel>;
  [key: string]: unknown;
}

export interface SpawnProgress {
  progress?: number;
  message: string;
  /** The event as the hub sent it. */
  raw: Record<string, unknown>;
}

export interface SpawnOptions {
  onProgress?: (p: SpawnProgress) => void;
  /** Abort: stop following and stop the server the spawn started. */
  signal?: AbortSignal;
  /** Give up (and stop the server) after this long. Default 15 minutes. */
  timeoutMs?: number;
}

export interface LoginOptions {
  expiresInSeconds?: number;
  note?: string;
}

export interface HubClientOptions {
  transport: HubTransport;
  /** Per-request limit. Default 30 s. */
  timeoutMs?: number;
  /** Longest Retry-After honoured automatically for GETs. Default 30 s. */
  maxRetryAfterSeconds?: number;
  /** How often to poll the server model while waiting. Default 500 ms. */
  pollIntervalMs?: number;
  /** Log lines: method and path only, never queries, headers or bodies. */
  log?: (line: string) => void;
}

const ServerSchema = z.looseObject({
  name: z.optional(z.string()),
  ready: z.optional(z.boolean()),
  pending: z.nullish(z.string()),
  started: z.nullish(z.string()),
  url: z.optional(z.string()),
  user_options: z.nullish(z.record(z.string(), z.unknown())),
  progress_url: z.nullish(z.string()),
  stopped: z.optional(z.boolean()),
  last_activity: z.nullish(z.string()),
});

const UserSchema = z.looseObject({
  name: z.string(),
  admin: z.optional(z.boolean()),
  server: z.nullish(z.string()),
  pending: z.nullish(z.string()),
  servers: z.optional(z.record(z.string(), ServerSchema)),
});

const VersionSchema = z.looseObject({ version: z.string() });
/** Where facilities put a hub under a shared site, tried last when the profile's URL has no hub. */
const COMMON_HUB_PREFIXES = ['/', '/jupyter/', '/jupyterhub/', '/jhub/', '/hub/'];
const TokenSchema = z.looseObject({ token: z.string().check(z.minLength(1)) });

interface CallOptions {
  method: HttpMethod;
  path: string;
  action: string;
  token?: string;
  json?: unknown;
  form?: Record<string, string>;
  headers?: Record<string, string>;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Send the login session's cookies (and the XSRF/Referer headers cookie-auth needs). */
  session?: boolean;
  /** A server on a user's own host (subdomain_host): the request names it in Host. */
  host?: ServerHost;
}

type Terminal = { ready: true } | { failed: string } | undefined;

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

const enc = encodeURIComponent;

function cancelled(message = 'Cancelled.'): RoamlabError {
  return new RoamlabError('cancelled', message, '');
}

export class HubClient {
  private readonly transport: HubTransport;
  private readonly timeoutMs: number;
  private readonly maxRetryAfterSeconds: number;
  private readonly pollIntervalMs: number;
  private readonly log: (line: string) => void;
  /** The browser-style login session. In memory only; never persisted. */
  private readonly jar = new CookieJar();
  private versionPromise: Promise<HubVersion> | undefined;

  constructor(o: HubClientOptions) {
    this.transport = o.transport;
    this.timeoutMs = o.timeoutMs ?? 30_000;
    this.maxRetryAfterSeconds = o.maxRetryAfterSeconds ?? 30;
    this.pollIntervalMs = o.pollIntervalMs ?? 500;
    this.log = o.log ?? (() => undefined);
  }

  private get origin(): string {
    return this.transport.hubUrl.origin;
  }

  // -------------------------------------------------------------------------------------------
  // Plumbing

  private headersFor(o: CallOptions): Record<string, string> {
    const h: Record<string, string> = { Accept: 'application/json', ...o.headers };
    if (o.token) h.Authorization = `token ${o.token}`;
    if (o.session) {
      const url = resolveHubUrl(this.transport.hubUrl, o.path);
      const cookie = this.jar.header(url);
      if (cookie) h.Cookie = cookie;
      const xsrf = this.jar.get('_xsrf', url);
      if (xsrf) h['X-XSRFToken'] = xsrf;
      // JupyterHub 3.x blocks cookie-authenticated API requests without a same-origin Referer.
      h.Referer = resolveHubUrl(this.transport.hubUrl, 'hub/').href;
    }
    return h;
  }

  /** One request; answers of any status come back. A GET answered 429 is retried once after Retry-After. */
  private async call(o: CallOptions): Promise<HubResponse> {
    for (let attempt = 0; ; attempt++) {
      const res = await hubRequest(this.transport, {
        method: o.method,
        path: o.path,
        headers: this.headersFor(o),
        json: o.json,
        form: o.form,
        timeoutMs: o.timeoutMs ?? this.timeoutMs,
        signal: o.signal,
        action: o.action,
        host: o.host,
      });
      this.log(`${o.method} ${res.target} → ${res.status}`);
      if (o.session && res.setCookies.length) this.jar.store(res.setCookies, resolveHubUrl(this.transport.hubUrl, o.path));
      if (res.status === 429 && o.method === 'GET' && attempt === 0) {
        const err = hubErrorFromResponse(res, { action: o.action, target: res.target });
        const wait = err.details.retryAfterSeconds;
        if (wait !== undefined && wait <= this.maxRetryAfterSeconds) {
          this.log(`hub asked to wait ${wait} s; retrying once`);
          await sleep(wait * 1000, o.signal);
          if (o.signal?.aborted) throw cancelled();
          continue;
        }
      }
      return res;
    }
  }

  private fail(res: HubResponse, action: string): never {
    throw hubErrorFromResponse(res, { action, target: res.target });
  }

  /** A JSON API call that must answer one of `ok`. */
  private async api(o: CallOptions, ok: number[] = [200]): Promise<unknown> {
    const res = await this.call(o);
    if (!ok.includes(res.status)) this.fail(res, o.action);
    return parseJsonBody(res, o.action);
  }

  private shape<T>(schema: z.ZodMiniType<T>, value: unknown, res: { target: string; status: number }, action: string): T {
    const r = schema.safeParse(value);
    if (!r.success) throw garbageError({ action, target: res.target }, res.status, 'JSON that is not shaped like JupyterHub\'s API');
    return r.data;
  }

  // -------------------------------------------------------------------------------------------
  // Version

  /** GET hub/api → the hub's version. Cached per client. */
  version(): Promise<HubVersion> {
    if (!this.versionPromise) {
      this.versionPromise = this.fetchVersion();
      this.versionPromise.catch(() => {
        this.versionPromise = undefined;
      });
    }
    return this.versionPromise;
  }

  private async fetchVersion(): Promise<HubVersion> {
    const action = 'tell its version';
    const res = await this.call({ method: 'GET', path: 'hub/api', action });
    if (res.status !== 200) {
      // A 404 here means the URL is not a hub (or the prefix is wrong), not a missing resource.
      if (res.status === 404 || (res.status >= 300 && res.status < 400)) {
        const found = await this.findHubBase(res).catch(() => undefined);
        if (found) {
          throw new RoamlabError(
            'profile-invalid',
            `There is no JupyterHub at ${this.transport.hubUrl.href}, but there is one at ${found}.`,
            `Set hub.url in the facility profile to "${found}" (ask the facility for an updated profile, or import a corrected one).`,
            { field: 'hub.url', given: this.transport.hubUrl.href, suggested: found, status: res.status },
          );
        }
        throw garbageError({ action, target: res.target }, res.status);
      }
      this.fail(res, action);
    }
    const body = this.shape(VersionSchema, parseJsonBody(res, action), res, action);
    const m = /^(\d+)\.(\d+)/.exec(body.version);
    if (!m) throw garbageError({ action, target: res.target }, res.status, `a version string it cannot read ("${body.version.slice(0, 40)}")`);
    return { version: body.version, major: Number(m[1]), minor: Number(m[2]) };
  }

  /**
   * Where the hub really is, when the profile's URL is not its base: a page of it was given
   * (`…/jhub/hub/login`, `…/user/ana/lab`), or the site root of a hub under a prefix (JupyterHub
   * redirects `/hub/api` to `/PREFIX/hub/api`, and `/` towards `/PREFIX/hub/`), or, last, the
   * prefixes facilities commonly use. Each candidate is checked with GET PREFIX/hub/api on the
   * same origin, without the token; undefined when none answers as a hub.
   */
  private async findHubBase(first: HubResponse): Promise<string | undefined> {
    const given = this.transport.hubUrl.pathname;
    // A few quick looks, not a second wait: the person is waiting for the error.
    const signal = AbortSignal.timeout(10_000);
    const look = (path: string, action: string, headers?: Record<string, string>) => this.call({ method: 'GET', path, action, headers, signal, timeoutMs: 4000 });
    const before = (p: string, marker: RegExp): string | undefined => {
      const m = marker.exec(p);
      return m ? p.slice(0, m.index + 1) : undefined;
    };
    const locationPath = (r: HubResponse): string | undefined => {
      const l = r.headers.location;
      if (!l || r.status < 300 || r.status >= 400) return undefined;
      try {
        const u = new URL(l, r.target);
        return u.origin === this.transport.hubUrl.origin ? u.pathname : undefined;
      } catch {
        return undefined;
      }
    };
    const tried = new Set<string>([given]);
    const isHubAt = async (prefix: string | undefined): Promise<string | undefined> => {
      if (!prefix || tried.has(prefix)) return undefined;
      tried.add(prefix);
      const probe = await look(`${prefix}hub/api`, 'tell its version');
      if (probe.status !== 200) return undefined;
      try {
        return VersionSchema.safeParse(JSON.parse(probe.body)).success ? new URL(prefix, this.transport.hubUrl).href : undefined;
      } catch {
        return undefined; // not JSON: not a hub there either
      }
    };
    for (const c of [before(locationPath(first) ?? '', /\/hub\/api\/?$/), before(given, /\/hub\//), before(given, /\/user\/[^/]+\//)]) {
      const found = await isHubAt(c);
      if (found) return found;
    }
    // Where the site's root sends a browser: a hub under a prefix redirects / to /PREFIX/ and on to /PREFIX/hub/.
    let path = '/';
    for (let hop = 0; hop < 3; hop++) {
      const r = await look(path, 'show its start page', { Accept: 'text/html' });
      const l = locationPath(r);
      if (!l) break;
      const found = await isHubAt(before(l, /\/hub\//) ?? (l.endsWith('/') ? l : undefined));
      if (found) return found;
      path = l;
    }
    // A proxy that routes only the hub's prefix answers 404 at the root: the usual prefixes.
    for (const c of COMMON_HUB_PREFIXES) {
      const found = await isHubAt(c);
      if (found) return found;
    }
    return undefined;
  }

  // -------------------------------------------------------------------------------------------
  // Sign-in

  /**
   * Sign in as a browser does and mint an API token.
   *
   * GET hub/login (→ `_xsrf` hidden input and cookie on ≥ 4.1), POST hub/login form-encoded
   * without following the redirect: 302 + session cookies = signed in; 200 with the login page
   * again = wrong credentials. Then POST hub/api/users/NAME/tokens with the session cookies,
   * `X-XSRFToken` and a same-origin Referer. If the hub will not mint a token for the cookie
   * session, ask again with the credentials in the body (`{"auth": {...}}`), which the token
   * handler accepts on 3.x–5.x.
   */
  async login(username: string, password: string, opts: LoginOptions = {}): Promise<string> {
    if (!username || !password) throw new RoamlabError('usage', 'A username and a password are needed to sign in.', 'Enter both, then sign in again.');
    this.jar.clear();
    const tokenBody: Record<string, unknown> = { note: opts.note ?? 'Roamlab' };
    if (opts.expiresInSeconds !== undefined) tokenBody.expires_in = Math.max(1, Math.floor(opts.expiresInSeconds));

    const page = await this.call({ method: 'GET', path: 'hub/login', action: 'show its sign-in page', session: true, headers: { Accept: 'text/html' } });
    if (page.status >= 300 && page.status < 400) {
      // The hub signs in elsewhere (single sign-on, auto_login). Only the body form can work.
      return this.tokenWithPassword(username, username, password, tokenBody, 'The hub signs in through another web page (single sign-on), which Roamlab cannot use; ask the facility for a username and password sign-in, or an API token.');
    }
    // No sign-in page: likely no hub at this URL. version() says so, and where the hub is if it can tell.
    if (page.status === 404) await this.version();
    if (page.status !== 200) this.fail(page, 'show its sign-in page');
    const xsrf = this.formXsrf(page.body) ?? this.jar.get('_xsrf', resolveHubUrl(this.transport.hubUrl, 'hub/login'));

    const form: Record<string, string> = { username, password };
    if (xsrf) form._xsrf = xsrf;
    const post = await this.call({
      method: 'POST',
      path: 'hub/login',
      action: 'sign you in',
      form,
      session: true,
      headers: { Accept: 'text/html', Referer: resolveHubUrl(this.transport.hubUrl, 'hub/login').href },
    });
    if (post.status === 200) throw this.authFailed();
    if (post.status === 403) {
      // The form was refused (e.g. an XSRF check a proxy broke). Try the API form instead.
      this.jar.clear();
      return this.tokenWithPassword(username, username, password, tokenBody, 'The hub refused the sign-in form; if the password is right, the hub may not allow password sign-in from applications.');
    }
    if (post.status < 300 || post.status >= 400) this.fail(post, 'sign you in');

    // A page view with the new session: on 5.x the `_xsrf` cookie set by the login answer is
    // bound to the *pre-login* session id and is refused by the next POST ("XSRF cookie does not
    // match POST argument"); the first page view after login sets the one that works. On 3.x it
    // is harmless.
    const home = await this.call({ method: 'GET', path: 'hub/home', action: 'show its home page', session: true, headers: { Accept: 'text/html' } });
    if (home.status >= 300 && home.status < 400 && /\/login/.test(String(home.headers.location ?? ''))) {
      // The session cookie did not stick (e.g. a proxy that drops Set-Cookie): use the body form.
      this.jar.clear();
      return this.tokenWithPassword(username, username, password, tokenBody, 'The hub accepted the password but did not keep the sign-in session.');
    }

    // The name the hub uses may differ from what was typed (authenticators normalise names).
    let name = username;
    try {
      const me = await this.call({ method: 'GET', path: 'hub/api/user', action: 'tell who you are', session: true });
      if (me.status === 200) name = this.shape(UserSchema, parseJsonBody(me, 'tell who you are'), me, 'tell who you are').name;
    } catch (e) {
      if (!isRoamlabError(e, 'hub-garbage')) throw e;
    }

    const tokensPath = `hub/api/users/${enc(name)}/tokens`;
    const action = 'issue an API token';
    const res = await this.call({ method: 'POST', path: tokensPath, action, json: tokenBody, session: true });
    if (res.status === 200 || res.status === 201) {
      return this.shape(TokenSchema, parseJsonBody(res, action), res, action).token;
    }
    if (res.status === 401 || res.status === 403) {
      return this.tokenWithPassword(name, username, password, tokenBody, 'The hub signed you in but refused to issue an API token; ask the facility whether API tokens are allowed.');
    }
    this.fail(res, action);
  }

  /**
   * Mint an API token from the cookies of a sign-in done in a browser window (single sign-on,
   * two-factor pages: flows Roamlab cannot type into). The cookies are used for this exchange
   * only and forgotten afterwards; the hub's own xsrf cookie is fetched fresh for this client.
   */
  async loginWithCookies(cookies: { name: string; value: string }[], opts: LoginOptions = {}): Promise<{ token: string; username: string }> {
    this.jar.clear();
    const base = resolveHubUrl(this.transport.hubUrl, '');
    // Only the hub's session cookies matter; a stale _xsrf from the window would not match us.
    this.jar.store(cookies.filter((c) => c.name !== '_xsrf').map((c) => `${c.name}=${c.value}; Path=/`), base);
    try {
      const home = await this.call({ method: 'GET', path: 'hub/home', action: 'show its home page', session: true, headers: { Accept: 'text/html' } });
      if (home.status !== 200) {
        throw new RoamlabError('auth-failed', 'The sign-in in the hub\'s page did not finish.', 'Sign in again in the window that opens, until the hub shows its home page.', { status: home.status });
      }
      const meAction = 'tell who you are';
      const me = await this.call({ method: 'GET', path: 'hub/api/user', action: meAction, session: true });
      if (me.status !== 200) this.fail(me, meAction);
      const name = this.shape(UserSchema, parseJsonBody(me, meAction), me, meAction).name;
      const action = 'issue an API token';
      const tokenBody: Record<string, unknown> = { note: opts.note ?? 'Roamlab' };
      if (opts.expiresInSeconds !== undefined) tokenBody.expires_in = Math.max(1, Math.floor(opts.expiresInSeconds));
      const res = await this.call({ method: 'POST', path: `hub/api/users/${enc(name)}/tokens`, action, json: tokenBody, session: true });
      if (res.status !== 200 && res.status !== 201) this.fail(res, action);
      return { token: this.shape(TokenSchema, parseJsonBody(res, action), res, action).token, username: name };
    } finally {
      this.jar.clear();
    }
  }

  /** POST …/tokens with `{"auth": {"username", "password"}}`: no cookies, no XSRF. */
  private async tokenWithPassword(name: string, username: string, password: string, tokenBody: Record<string, unknown>, hint: string): Promise<string> {
    const action = 'issue an API token';
    const res = await this.call({
      method: 'POST',
      path: `hub/api/users/${enc(name)}/tokens`,
      action,
      json: { ...tokenBody, auth: { username, password } },
    });
    if (res.status === 200 || res.status === 201) return this.shape(TokenSchema, parseJsonBody(res, action), res, action).token;
    if (res.status === 401 || res.status === 403) {
      throw new RoamlabError('auth-failed', 'The hub did not accept the username or password.', `Check them and sign in again. ${hint}`, { status: res.status });
    }
    this.fail(res, action);
  }

  private authFailed(): RoamlabError {
    return new RoamlabError(
      'auth-failed',
      'The hub did not accept the username or password.',
      'Check the username and password (they are the facility account\'s) and sign in again.',
      { status: 200 },
    );
  }

  private formXsrf(html: string): string | undefined {
    try {
      const input = loadHtmlParser().parse(html).querySelectorAll('input').find((i) => i.getAttribute('name') === '_xsrf');
      return input?.getAttribute('value') || undefined;
    } catch {
      return undefined;
    }
  }

  /** Forget the login session's cookies (the token stays valid). */
  forgetSession(): void {
    this.jar.clear();
  }

  // -------------------------------------------------------------------------------------------
  // Users and servers

  /** GET hub/api/user: who the token belongs to. 401/403 → 'hub-forbidden'. */
  async whoami(token: string): Promise<UserModel> {
    const action = 'tell who you are';
    const res = await this.call({ method: 'GET', path: 'hub/api/user', token, action });
    if (res.status !== 200) this.fail(res, action);
    return this.toUser(this.shape(UserSchema, parseJsonBody(res, action), res, action));
  }

  /** The server model, or null when the hub lists no such active server. '' is the default server. */
  async server(token: string, user: string, serverName = ''): Promise<ServerModel | null> {
    const action = 'tell the state of your server';
    const res = await this.call({ method: 'GET', path: `hub/api/users/${enc(user)}`, token, action });
    if (res.status !== 200) this.fail(res, action);
    const raw = this.shape(UserSchema, parseJsonBody(res, action), res, action);
    if (raw.servers) {
      const s = raw.servers[serverName];
      return s ? this.toServer(s, serverName) : null;
    }
    // A token without read:servers gets no `servers`; the legacy fields cover the default server.
    if (serverName !== '') return null;
    if (!raw.server && !raw.pending) return null;
    return this.toServer({ name: '', ready: !!raw.server && !raw.pending, pending: raw.pending ?? null, url: raw.server ?? '' }, '');
  }

  /** Every active server of the user (default server first). */
  async servers(token: string, user: string): Promise<ServerModel[]> {
    const action = 'list your servers';
    const res = await this.call({ method: 'GET', path: `hub/api/users/${enc(user)}`, token, action });
    if (res.status !== 200) this.fail(res, action);
    const raw = this.shape(UserSchema, parseJsonBody(res, action), res, action);
    if (!raw.servers) {
      const s = raw.server || raw.pending ? await this.server(token, user, '') : null;
      return s ? [s] : [];
    }
    return Object.entries(raw.servers)
      .map(([k, v]) => this.toServer(v, k))
      .sort((a, b) => (a.name === '' ? -1 : b.name === '' ? 1 : a.name.localeCompare(b.name)));
  }

  /** The hub's server model; its URL split into the path and, with subdomain_host, the user's host. */
  private toServer(s: z.infer<typeof ServerSchema>, name: string): ServerModel {
    const split = s.url ? splitServerUrl(s.url, this.transport.hubUrl) : undefined;
    return {
      ...s,
      // Ours, never a field of that name the hub might send.
      host: split?.host,
      name: s.name ?? name,
      ready: s.ready ?? false,
      pending: s.pending ?? null,
      started: s.started ?? null,
      url: split?.path ?? s.url ?? '',
      user_options: s.user_options ?? {},
      progress_url: s.progress_url ?? '',
    };
  }

  private toUser(raw: z.infer<typeof UserSchema>): UserModel {
    const servers = raw.servers ? Object.fromEntries(Object.entries(raw.servers).map(([k, v]) => [k, this.toServer(v, k)])) : undefined;
    return { ...raw, servers } as UserModel;
  }

  private serverPath(user: string, serverName: string): string {
    return serverName ? `hub/api/users/${enc(user)}/servers/${enc(serverName)}` : `hub/api/users/${enc(user)}/server`;
  }

  // -------------------------------------------------------------------------------------------
  // Spawn

  /**
   * Start a server with these user options and resolve with its model once it is ready.
   *
   * The POST body is the options object itself on JupyterHub ≤ 5 and `{"user_options": …}` on
   * ≥ 6. An empty body is never sent: the hub would silently reuse the previous options.
   * Progress comes from the hub's event stream, followed from the moment the POST is sent.
   * On abort (or timeout) the start is cancelled: we wait for the POST's answer (so the hub
   * cannot start a spawn after our stop), then stop the server and wait until it is gone.
   * A 429 from the POST is surfaced, not retried: it carries details.retryAfterSeconds.
   */
  async spawn(token: string, user: string, serverName: string, userOptions: Record<string, unknown>, opts: SpawnOptions = {}): Promise<ServerModel> {
    if (!userOptions || typeof userOptions !== 'object' || Array.isArray(userOptions) || Object.keys(userOptions).length === 0) {
      throw new RoamlabError(
        'usage',
        'Refusing to start a server without options.',
        'The notebook class in the facility profile has no user options; an empty request would make the hub reuse whatever was chosen last time.',
      );
    }
    if (opts.signal?.aborted) throw cancelled('The start of the server was cancelled before it was requested.');
    const v = await this.version();
    const body = v.major >= 6 ? { user_options: userOptions } : userOptions;
    const action = serverName ? `start your server "${serverName}"` : 'start your server';
    const timeoutMs = opts.timeoutMs ?? 15 * 60_000;

    const follow = new AbortController();
    const post: PostTracker = { settled: false, ok: false, definite: false, error: undefined, promise: Promise.resolve() };
    // The hub holds the POST for up to its slow_spawn_timeout (10 s by default) before answering 202.
    const postRequest = this.call({ method: 'POST', path: this.serverPath(user, serverName), token, json: body, action, timeoutMs: Math.max(this.timeoutMs, 60_000) });
    post.promise = postRequest.then(
      (res) => {
        post.settled = true;
        post.definite = true;
        if (res.status === 201 || res.status === 202 || res.status === 200) post.ok = true;
        else post.error = hubErrorFromResponse(res, { action, target: res.target });
      },
      (e: unknown) => {
        post.settled = true;
        post.error = e;
      },
    );

    const follower = this.followSpawn(token, user, serverName, post, follow.signal, opts.onProgress);
    follower.catch(() => undefined);

    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const interrupted = new Promise<'cancel' | 'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
      onAbort = () => resolve('cancel');
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      if (opts.signal?.aborted) resolve('cancel');
    });

    try {
      const outcome = await Promise.race([follower.then((m) => ({ model: m })), interrupted]);
      if (typeof outcome === 'object') return outcome.model;
      follow.abort();
      await post.promise;
      // Stop what this call started. A definite refusal (e.g. "already running") started nothing,
      // and the server that was running must not be touched; a lost answer may have started one.
      if (post.ok || !post.definite) await this.stopAfterCancel(token, user, serverName);
      if (outcome === 'cancel') throw cancelled('The start of the server was cancelled; the server has been stopped.');
      throw new RoamlabError('hub-timeout', `The server did not become ready within ${Math.round(timeoutMs / 60_000)} min; it has been stopped.`, 'The facility may be busy; try again later or pick a smaller notebook class.', { timeoutMs });
    } finally {
      follow.abort();
      clearTimeout(timer);
      if (onAbort) opts.signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Wait for a spawn that is already under way (started elsewhere, or by an earlier run) to
   * become ready, following its progress. Cancelling only stops the waiting: this call did not
   * start the server, so it does not stop it.
   */
  async waitForSpawn(token: string, user: string, serverName: string, opts: Omit<SpawnOptions, 'timeoutMs'> = {}): Promise<ServerModel> {
    const post: PostTracker = { settled: true, ok: true, definite: true, error: undefined, promise: Promise.resolve() };
    const follow = new AbortController();
    const onAbort = () => follow.abort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (opts.signal?.aborted) follow.abort();
    try {
      return await this.followSpawn(token, user, serverName, post, follow.signal, opts.onProgress);
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
    }
  }

  private async stopAfterCancel(token: string, user: string, serverName: string): Promise<void> {
    try {
      await this.stop(token, user, serverName, { timeoutMs: 5 * 60_000 });
    } catch (e) {
      this.log(`could not stop the cancelled server: ${isRoamlabError(e) ? e.kind : 'error'}`);
      throw e;
    }
  }

  /** Follow the progress stream until the spawn is ready (resolve) or has failed (reject). */
  private async followSpawn(
    token: string,
    user: string,
    serverName: string,
    post: PostTracker,
    stop: AbortSignal,
    onProgress: SpawnOptions['onProgress'],
  ): Promise<ServerModel> {
    const seen = new Set<string>();
    const progressPath = `${this.serverPath(user, serverName)}/progress`;
    const action = 'report the progress of your server';
    let idleChecks = 0;
    for (let round = 0; ; round++) {
      if (stop.aborted) throw cancelled();
      if (round === 0) await sleep(150, stop);
      else if (!post.settled) await Promise.race([sleep(400, stop), post.promise]);
      if (stop.aborted) throw cancelled();

      const openedBeforePost = !post.settled;
      let terminal: Terminal;
      let stream: HubStreamResponse | undefined;
      try {
        stream = await hubStream(this.transport, {
          method: 'GET',
          path: progressPath,
          headers: { Accept: 'text/event-stream', Authorization: `token ${token}` },
          timeoutMs: this.timeoutMs,
          signal: stop,
          action,
        });
      } catch (e) {
        if (stop.aborted || isRoamlabError(e, 'cancelled')) throw cancelled();
        if (post.settled && !post.ok) throw post.error;
        if (post.settled) throw e;
        continue;
      }
      if (stream.status === 200) {
        terminal = await this.readProgress(stream, seen, stop, onProgress);
      } else {
        const res = { status: stream.status, headers: stream.headers, body: await readSmall(stream), target: stream.target };
        stream.close();
        if (!post.settled) continue;
        if (!post.ok) throw post.error;
        if (res.status === 429) {
          const wait = hubErrorFromResponse(res, { action, target: res.target }).details.retryAfterSeconds ?? 5;
          await sleep(Math.min(wait, this.maxRetryAfterSeconds) * 1000, stop);
          continue;
        }
        // 400 "not starting" / 404 "no such server": the model below tells what happened.
        if (res.status !== 400 && res.status !== 404) throw hubErrorFromResponse(res, { action, target: res.target });
      }
      if (stop.aborted) throw cancelled();

      if (!post.settled) {
        // An event stream opened before the hub took our POST may describe the previous spawn.
        if (!terminal) continue;
        await post.promise;
      }
      if (!post.ok) throw post.error;
      if (terminal && 'failed' in terminal && !openedBeforePost) throw spawnFailed(terminal.failed);

      const model = await this.server(token, user, serverName);
      if (model?.ready) return model;
      if (model?.pending === 'spawn' || model?.pending === 'check') {
        idleChecks = 0;
        if (!terminal) await sleep(this.pollIntervalMs, stop);
        continue;
      }
      if (model?.pending === 'stop') throw spawnFailed('The server is being stopped before it became ready.');
      // Neither ready nor starting: it failed. The next stream usually says why ("Spawn failed: …").
      if (terminal && 'failed' in terminal) throw spawnFailed(terminal.failed);
      if (++idleChecks >= 3) throw spawnFailed('The hub reports your server as neither running nor starting.');
      await sleep(this.pollIntervalMs, stop);
    }
  }

  /** Read one event-stream connection: progress messages out, the terminal event back. */
  private readProgress(stream: HubStreamResponse, seen: Set<string>, stop: AbortSignal, onProgress: SpawnOptions['onProgress']): Promise<Terminal> {
    // The hub writes a keepalive every 8 s; a minute of silence means the stream is dead.
    const idleMs = Math.max(60_000, this.timeoutMs);
    return new Promise<Terminal>((resolve) => {
      let done = false;
      let idle: NodeJS.Timeout | undefined;
      const finish = (t: Terminal): void => {
        if (done) return;
        done = true;
        clearTimeout(idle);
        stop.removeEventListener('abort', onStop);
        stream.close();
        resolve(t);
      };
      const onStop = (): void => finish(undefined);
      const bump = (): void => {
        clearTimeout(idle);
        idle = setTimeout(() => finish(undefined), idleMs);
      };
      const parser = createParser({
        onEvent: (ev) => {
          if (done) return;
          let data: unknown;
          try {
            data = JSON.parse(ev.data);
          } catch {
            return;
          }
          if (!data || typeof data !== 'object') return;
          const raw = data as Record<string, unknown>;
          if (raw.ready === true) return finish({ ready: true });
          if (raw.failed === true) return finish({ failed: typeof raw.message === 'string' ? raw.message : 'Spawn failed' });
          if (typeof raw.message !== 'string') return;
          const progress = typeof raw.progress === 'number' ? raw.progress : undefined;
          // A reconnect replays the spawn's events from the start; report each once.
          const key = `${progress ?? ''}|${raw.message}`;
          if (seen.has(key)) return;
          seen.add(key);
          try {
            onProgress?.({ progress, message: raw.message, raw });
          } catch {
            // A listener's failure must not break following the spawn.
          }
        },
      });
      stop.addEventListener('abort', onStop, { once: true });
      bump();
      stream.stream.setEncoding('utf8');
      stream.stream.on('data', (chunk: string) => {
        bump();
        parser.feed(chunk);
      });
      stream.stream.once('end', () => finish(undefined));
      stream.stream.once('close', () => finish(undefined));
      stream.stream.once('error', () => finish(undefined));
    });
  }

  // -------------------------------------------------------------------------------------------
  // Stop

  /**
   * Stop a server and wait until the hub no longer lists it as active (bounded).
   * Stopping a server that does not run is not an error.
   */
  async stop(token: string, user: string, serverName = '', opts: { timeoutMs?: number } = {}): Promise<void> {
    const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
    const action = serverName ? `stop your server "${serverName}"` : 'stop your server';
    for (;;) {
      const res = await this.call({ method: 'DELETE', path: this.serverPath(user, serverName), token, action });
      if (res.status === 204 || res.status === 202 || res.status === 200) break;
      if (res.status === 404 && serverName) return; // no such named server: nothing to stop
      const err = hubErrorFromResponse(res, { action, target: res.target });
      // 3.x: a pending spawn cannot be interrupted ("is pending spawn, please wait"); it can be
      // stopped once it has settled.
      if (res.status === 400 && err.details.pending === 'spawn' && Date.now() < deadline) {
        await sleep(1000);
        continue;
      }
      throw err;
    }
    while (Date.now() < deadline) {
      const m = await this.server(token, user, serverName);
      if (!m || (!m.ready && !m.pending) || m.stopped === true) return;
      await sleep(this.pollIntervalMs);
    }
    throw new RoamlabError('hub-timeout', `The hub has not finished stopping your server${serverName ? ` "${serverName}"` : ''}.`, 'It may still be shutting down; check again in a minute.', {});
  }

  // -------------------------------------------------------------------------------------------
  // JupyterLab or classic notebook

  /**
   * Whether the server offers JupyterLab at `<server>lab` (else only the classic `<server>tree`).
   * GET `<server>api/status` first, with the token: it needs authentication on both
   * jupyter_server and notebook 6.4 (bare `api/` does not, and notebook 6.4 redirects `api/` to
   * `api`), so a 200 proves the server runs and takes the token; a stopped server makes the hub
   * answer 424/503 instead of a login redirect loop. Then GET `<server>lab`, redirects not
   * followed: 200 → JupyterLab, 404 → classic notebook only.
   */
  async labAvailable(token: string, serverUrlPath: string, host?: ServerHost): Promise<boolean> {
    const base = serverUrlPath.endsWith('/') ? serverUrlPath : `${serverUrlPath}/`;
    const action = 'reach your server';
    const api = await this.call({ method: 'GET', path: `${base}api/status`, token, action, host });
    if (api.status !== 200) {
      if (api.status >= 300 && api.status < 400) throw this.serverRedirect(api, action);
      if (api.status === 503 || api.status === 502) {
        throw new RoamlabError('hub-server-stopped', 'Your server is not reachable through the hub (it may have stopped).', 'Start the server again.', { status: api.status });
      }
      this.fail(api, action);
    }
    parseJsonBody(api, action);
    const lab = await this.call({ method: 'GET', path: `${base}lab`, token, action: 'show JupyterLab', headers: { Accept: 'text/html' }, host });
    if (lab.status === 200) return true;
    if (lab.status === 404) return false;
    if (lab.status >= 300 && lab.status < 400) {
      const loc = String(lab.headers.location ?? '');
      if (/\/lab(\/|$|\?)/.test(loc.split('?')[0] ?? '') && !/login|oauth/.test(loc)) return true;
      throw this.serverRedirect(lab, 'show JupyterLab');
    }
    this.fail(lab, 'show JupyterLab');
  }

  private serverRedirect(res: HubResponse, action: string): RoamlabError {
    const loc = String(res.headers.location ?? '');
    if (/login|oauth/.test(loc)) {
      return new RoamlabError('hub-forbidden', `Your server did not accept the hub token when asked to ${action}.`, 'Sign in again.', { status: res.status });
    }
    return new RoamlabError('hub-server-stopped', `Your server is not running (the hub redirected the request to ${action}).`, 'Start the server again.', { status: res.status });
  }

  // -------------------------------------------------------------------------------------------
  // Spawn form

  /**
   * The notebook classes the hub's spawn page offers, or null when the spawner has no options form.
   *
   * Why the opt-in: on JupyterHub 3.x and 5.x, GET hub/spawn *starts the default server* when the
   * spawner has no options form (pages.py SpawnHandler; likewise with any query argument). There
   * is no API that tells whether a form exists, but every hub page carries
   * `window.jhdata = {…, options_form: true|false}` (page.html, from `user.spawner.options_form`),
   * so we read hub/home first — a page that starts nothing — and only GET hub/spawn when it
   * says true. That check can be wrong when `options_form` is a callable returning '' (e.g.
   * KubeSpawner with an empty dynamic profile_list); if the hub then redirects instead of
   * rendering a form, it has started the default server, and we stop it again before
   * returning null. Page handlers take no API token (only the login cookie), so this needs
   * the web session of a `login()` on this same client. The default server must not be running
   * (the hub then redirects to it and shows no form): that is 'hub-already-running'.
   */
  async spawnForm(token: string, opts: { acceptSpawnRisk: true; user?: string }): Promise<SpawnForm | null> {
    if (opts?.acceptSpawnRisk !== true) {
      throw new RoamlabError('usage', 'Reading the spawn form may start a server on this hub.', 'Pass { acceptSpawnRisk: true } to accept that (a server so started is stopped again).');
    }
    if (this.jar.size === 0) {
      throw new RoamlabError('usage', 'Reading the spawn form needs a web session.', 'Call login() on this client first (hub pages do not accept API tokens).');
    }
    const home = await this.call({ method: 'GET', path: 'hub/home', action: 'show its home page', session: true, headers: { Accept: 'text/html' } });
    if (home.status >= 300 && home.status < 400) {
      throw new RoamlabError('hub-forbidden', 'The hub web session has expired.', 'Sign in again.', { status: home.status });
    }
    if (home.status !== 200) this.fail(home, 'show its home page');
    const jh = /window\.jhdata\s*=\s*\{([\s\S]*?)\}/.exec(home.body)?.[1] ?? '';
    const flag = /options_form\s*:\s*(true|false)/.exec(jh)?.[1];
    if (flag === 'false') return null;
    const user = opts.user ?? /user\s*:\s*"([^"]*)"/.exec(jh)?.[1] ?? (await this.whoami(token)).name;

    const running = await this.server(token, user, '');
    if (running) {
      throw new RoamlabError('hub-already-running', 'The hub shows no spawn form while your server is running or starting.', 'Stop your server first to read the list of notebook classes.', {});
    }
    const page = await this.call({ method: 'GET', path: 'hub/spawn', action: 'show its spawn form', session: true, headers: { Accept: 'text/html' } });
    if (page.status === 200) return parseSpawnForm(page.body);
    if (page.status >= 300 && page.status < 400) {
      const loc = String(page.headers.location ?? '');
      if (/\/login/.test(loc)) throw new RoamlabError('hub-forbidden', 'The hub web session has expired.', 'Sign in again.', { status: page.status });
      // No form after all: the hub has started the default server with its defaults. Undo it.
      this.log('the hub started a server instead of showing a spawn form; stopping it');
      await this.stop(token, user, '');
      return null;
    }
    this.fail(page, 'show its spawn form');
  }
}

interface PostTracker {
  settled: boolean;
  ok: boolean;
  /** The hub answered (as opposed to a lost connection / timeout, where it may have spawned). */
  definite: boolean;
  error: unknown;
  promise: Promise<void>;
}

function spawnFailed(hubMessage: string): RoamlabError {
  return new RoamlabError('spawn-failed', hubMessage || 'The server failed to start.', 'Read the hub\'s message above; try again, or pick another notebook class.', { hubMessage });
}


function readSmall(stream: HubStreamResponse): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const t = setTimeout(() => resolve(Buffer.concat(chunks).toString('utf8')), 5000);
    stream.stream.on('data', (c: Buffer | string) => {
      const b = typeof c === 'string' ? Buffer.from(c) : c;
      size += b.length;
      if (size <= 64 * 1024) chunks.push(b);
    });
    const done = (): void => {
      clearTimeout(t);
      resolve(Buffer.concat(chunks).toString('utf8'));
    };
    stream.stream.once('end', done);
    stream.stream.once('close', done);
    stream.stream.once('error', done);
  });
}

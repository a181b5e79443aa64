import { timingSafeEqual } from 'node:crypto';

/**
 * Who may use the local gateway. Pure functions over plain request data, so every rule has a
 * unit test; gateway.ts only applies the verdict.
 *
 * The gateway holds the hub token and adds it to what it forwards, so a request must prove it
 * comes from the Roamlab window that owns this port:
 *  - Host is exactly 127.0.0.1:PORT (a DNS-rebinding page arrives with its own host name);
 *  - Origin, when present, is exactly http://127.0.0.1:PORT (no other page, not even "null");
 *  - the per-session cookie holds the gateway's secret (set only by the one-time entry URL,
 *    HttpOnly and SameSite=Strict, so other sites' pages never send it).
 */
export interface GatewayRequestFacts {
  host: string | undefined;
  origin: string | undefined;
  cookieHeader: string | undefined;
}

export type GatewayVerdict = { allow: true } | { allow: false; reason: 'host' | 'origin' | 'cookie' };

export function cookieName(port: number): string {
  // Cookies are not isolated by port: each session's gateway needs its own name on 127.0.0.1.
  return `roamlab-gw-${port}`;
}

export function gatewayOrigin(port: number): string {
  return `http://127.0.0.1:${port}`;
}

/** Value of one cookie in a Cookie header (RFC 6265 §5.4 form: `a=1; b=2`). */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The Cookie header without our own cookie, so the session secret never travels to the hub. */
export function stripCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  const kept = header
    .split(';')
    .map((p) => p.trim())
    .filter((p) => p && p.slice(0, Math.max(p.indexOf('='), 0)).trim() !== name);
  return kept.length ? kept.join('; ') : undefined;
}

export function sameSecret(a: string | undefined, b: string): boolean {
  if (a === undefined) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function hostAllowed(host: string | undefined, port: number): boolean {
  return host === `127.0.0.1:${port}`;
}

export function originAllowed(origin: string | undefined, port: number): boolean {
  return origin === undefined || origin === gatewayOrigin(port);
}

export function judgeRequest(facts: GatewayRequestFacts, port: number, secret: string): GatewayVerdict {
  if (!hostAllowed(facts.host, port)) return { allow: false, reason: 'host' };
  if (!originAllowed(facts.origin, port)) return { allow: false, reason: 'origin' };
  if (!sameSecret(readCookie(facts.cookieHeader, cookieName(port)), secret)) return { allow: false, reason: 'cookie' };
  return { allow: true };
}

/**
 * A Set-Cookie from the hub, made to work on http://127.0.0.1:PORT: no Domain (it names the
 * hub's host), no Secure (the gateway origin is plain http on loopback; the hop to the hub keeps
 * its TLS), and SameSite=None — which browsers only take with Secure — becomes Lax.
 */
export function rewriteSetCookie(cookie: string): string {
  return cookie
    .split(';')
    .map((p) => p.trim())
    .filter((p) => !/^domain=/i.test(p) && !/^secure$/i.test(p))
    .map((p) => (/^samesite=none$/i.test(p) ? 'SameSite=Lax' : p))
    .join('; ');
}

/** Where JupyterHub serves what it serves, under its base path: its own pages and API, the users' servers. */
const HUB_NAMESPACES = ['hub/', 'user/', 'user-redirect/', 'services/'];

/**
 * The hub's public address, when a redirect gives it away. A hub with `public_url` set (its name
 * outside, where the profile reaches it at another, through the SSH gateway) names that address
 * in some absolute redirects (`…/hub/` → `<public_url>hub/`, `…/user-redirect/…`). A Location on
 * another origin to a path in JupyterHub's own namespaces under the hub's base path is taken as
 * the hub's. Undefined for any other Location (a login service, a relative one).
 */
export function hubPublicOrigin(location: string, hubUrl: URL): string | undefined {
  try {
    const u = new URL(location);
    if (u.origin === hubUrl.origin || (u.protocol !== 'https:' && u.protocol !== 'http:')) return undefined;
    const base = hubUrl.pathname;
    if (HUB_NAMESPACES.some((n) => u.pathname.startsWith(base + n))) return u.origin;
  } catch {
    // relative: on the hub's own origin
  }
  return undefined;
}

/**
 * A Location the hub sends: absolute URLs on the origins the gateway forwards to (the hub's, on
 * a hub with subdomain_host the user's own, and the hub's public_url once known) come back onto
 * the gateway's.
 */
export function rewriteLocation(location: string, upstreamOrigins: readonly string[], port: number): string {
  try {
    const u = new URL(location);
    if (upstreamOrigins.includes(u.origin)) return gatewayOrigin(port) + u.pathname + u.search + u.hash;
  } catch {
    // a relative Location needs no rewrite
  }
  return location;
}

/**
 * A 404 for a single-user server's REST API (`…/user/NAME[/SERVER]/api/…`) that the server did not
 * send: the hub's proxy has no route for it yet. configurable-http-proxy answers so in the second
 * or so after a hub restart, before the hub puts the routes of the servers that kept running back
 * (its bare "Not Found", or the hub's HTML error page). Passed on, JupyterLab's file browser reads
 * it as "Directory not found" and says so in a dialog. The server's own API 404s are JSON and come
 * from Tornado (its `Server` header); anything else is the proxy in front of it.
 */
export function proxyHasNoRoute(status: number | undefined, headers: { 'content-type'?: string; server?: string }, url: string | undefined): boolean {
  if (status !== 404 || !url) return false;
  const path = url.split('?')[0]!;
  if (!/\/user\/[^/]+\/(?:[^/]+\/)?api\//.test(path)) return false;
  return !/\bjson\b/i.test(headers['content-type'] ?? '') && !/tornado/i.test(headers.server ?? '');
}

export type HubPage = 'control-panel' | 'logout' | 'spawn';

/** The query that lets a navigation through to the hub's own page after all. */
export const HUB_PAGE_PASS = 'roamlab=hub';

/**
 * The hub's own pages that a Lab or classic Notebook page links to, which JupyterHub serves only
 * to a browser signed in with its cookie, never to the token Roamlab signs in with: "Hub Control
 * Panel" (`hub/home`, and `hub/`, which goes there), "Log Out" (`hub/logout`, where
 * `user/NAME/logout` sends the page), and JupyterLab's "Restart Server", also offered when the
 * server has gone away (`hub/spawn[/USER[/SERVER]]`, and `hub/spawn-pending/…` after it). Forwarded, a navigation there shows the hub's sign-in form
 * — and "Log Out" would seem to sign out what stays signed in. A navigation (a GET for a
 * document) to one of them is answered by the gateway instead (gateway.ts hubPageHtml); with
 * `?roamlab=hub` it goes through to the hub. `basePath`: the hub's, ending in '/'.
 */
export function hubPageFor(req: { method?: string; url?: string; accept?: string; fetchDest?: string }, basePath: string): HubPage | undefined {
  if (req.method !== 'GET' || !req.url) return undefined;
  if (req.fetchDest !== undefined ? req.fetchDest !== 'document' : !/\btext\/html\b/.test(req.accept ?? '')) return undefined;
  const [pathname, query = ''] = req.url.split('?', 2) as [string, string?];
  if (query.split('&').includes(HUB_PAGE_PASS)) return undefined;
  const rest = pathname.startsWith(basePath) ? pathname.slice(basePath.length).replace(/\/$/, '') : undefined;
  if (rest === 'hub' || rest === 'hub/home') return 'control-panel';
  if (rest === 'hub/logout') return 'logout';
  if (rest !== undefined && /^hub\/spawn(?:-pending)?(?:\/|$)/.test(rest)) return 'spawn';
  return undefined;
}

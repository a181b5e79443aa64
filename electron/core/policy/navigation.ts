/**
 * Where a window may go, as pure decisions over strings. The Electron shell asks these on every
 * navigation, redirect and window.open, and does what they say; nothing here imports electron.
 *
 * Origins are compared as scheme + host + port taken from the WHATWG URL parser, never by string
 * prefix: `http://127.0.0.1:8888.evil.example`, `http://127.0.0.1:8888@evil.example` and
 * `http://localhost:8888` are not the gateway `http://127.0.0.1:8888`.
 */

export type NavigationDecision = 'allow' | 'open-external' | 'deny';

/** Schemes the system browser (or mail client) may be handed. */
const EXTERNAL_SCHEMES = new Set(['http:', 'https:', 'mailto:']);

/** Longer URLs are refused rather than handed to the OS (Windows' shell has its own limits). */
const MAX_EXTERNAL_URL = 8192;

export function parseUrl(url: string): URL | null {
  if (typeof url !== 'string') return null;
  try {
    return new URL(url);
  } catch {
    return null;
  }
}

/**
 * `scheme://host[:port]` of a URL with a host, else null. Not `URL.origin`: for a custom scheme
 * such as app:// it is the opaque "null". A URL with a user name or password never has an
 * origin here: `http://127.0.0.1:8888@evil.example` is the classic lookalike, and Lab never
 * needs credentials in a URL.
 */
export function originOf(url: string): string | null {
  const u = parseUrl(url);
  if (!u || !u.host || u.username || u.password) return null;
  return `${u.protocol}//${u.host}`.toLowerCase();
}

/** Whether `url` is on exactly `origin` (scheme, host and port). */
export function isSameOrigin(url: string, origin: string): boolean {
  const a = originOf(url);
  const b = originOf(origin);
  return a !== null && b !== null && a === b;
}

/**
 * The gateway origin of a session's entry URL: only plain http on 127.0.0.1 with an explicit
 * port qualifies (the gateway listens nowhere else). Null for anything else, so a Lab window is
 * never opened onto a foreign page.
 */
export function gatewayOriginOf(entryUrl: string): string | null {
  const u = parseUrl(entryUrl);
  if (!u || u.protocol !== 'http:' || u.hostname !== '127.0.0.1' || !u.port || u.username || u.password) return null;
  return `http://127.0.0.1:${u.port}`;
}

/**
 * The href to hand to the OS for a link that leaves the app, or null if it must not be opened.
 * The parsed, re-serialised href is what goes out, so whitespace and control characters in the
 * original never reach the OS.
 */
export function externalHref(url: string): string | null {
  if (typeof url !== 'string' || url.length > MAX_EXTERNAL_URL) return null;
  const u = parseUrl(url);
  if (!u || !EXTERNAL_SCHEMES.has(u.protocol)) return null;
  if (u.protocol !== 'mailto:' && (!u.hostname || u.username || u.password)) return null;
  return u.href;
}

/** http, https and mailto only (with a host, and no credentials in the URL). */
export function isSafeExternalUrl(url: string): boolean {
  return externalHref(url) !== null;
}

/**
 * Documents that carry no content of their own and take the origin of the page that opened
 * them: Lab writes into about:blank windows (print previews) and renders some HTML through
 * srcdoc iframes (about:srcdoc).
 */
function isEmptyDocument(u: URL): boolean {
  return u.protocol === 'about:' && (u.pathname === 'blank' || u.pathname === 'srcdoc');
}

/**
 * A blob: URL created by a page on the gateway origin (`blob:http://127.0.0.1:PORT/uuid`):
 * JupyterLab shows PDFs and downloads through them. Its content comes from script that already
 * runs on the gateway origin, so it grants nothing new; a blob from any other origin is refused.
 */
function isGatewayBlob(u: URL, gatewayOrigin: string): boolean {
  // The parser keeps the creator's URL as the path: blob:http://127.0.0.1:8888/uuid → http://127.0.0.1:8888/uuid.
  return u.protocol === 'blob:' && isSameOrigin(u.pathname, gatewayOrigin);
}

/**
 * A navigation (or redirect) in a JupyterLab window. Only the session's own gateway origin stays
 * in the window; web and mail links go to the system browser; every other scheme (javascript:,
 * file:, data:, chrome:, devtools:, custom handlers…) is refused.
 */
export function decideNavigation(targetUrl: string, gatewayOrigin: string): NavigationDecision {
  const u = parseUrl(targetUrl);
  if (!u) return 'deny';
  if (originOf(gatewayOrigin) !== null && (isSameOrigin(targetUrl, gatewayOrigin) || isEmptyDocument(u) || isGatewayBlob(u, gatewayOrigin))) {
    return 'allow';
  }
  return isSafeExternalUrl(targetUrl) ? 'open-external' : 'deny';
}

/**
 * window.open / target=_blank from a JupyterLab window. Same-origin pages (a second Lab tab, a
 * print preview written into about:blank) get a child window with the same guards; web and mail
 * links go to the system browser; everything else is refused.
 */
export function decideNewWindow(url: string, gatewayOrigin: string): NavigationDecision {
  const u = parseUrl(url);
  if (!u) return 'deny';
  if (originOf(gatewayOrigin) !== null && (isSameOrigin(url, gatewayOrigin) || (u.protocol === 'about:' && u.pathname === 'blank'))) {
    return 'allow';
  }
  return isSafeExternalUrl(url) ? 'open-external' : 'deny';
}

/** The launcher window shows only the app's own pages (`app://roamlab/…`). */
export function launcherNavigationAllowed(url: string, appOrigin: string): boolean {
  return isSameOrigin(url, appOrigin);
}

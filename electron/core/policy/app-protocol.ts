/**
 * How the launcher window's own pages are served from `app://roamlab/`, as pure decisions:
 * which file a request maps to (never one outside the renderer's build folder), its content
 * type, and the headers every response carries. The Electron shell registers the scheme and
 * reads the file; nothing here imports electron.
 */
import path from 'node:path';

export const APP_SCHEME = 'app';
export const APP_HOST = 'roamlab';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
export const APP_ENTRY_URL = `${APP_ORIGIN}/index.html`;

/**
 * Headers on every app:// response, errors included. The launcher's policy: only its own files
 * run, nothing is framed, posted or fetched elsewhere.
 */
export function appResponseHeaders(contentType?: string): Record<string, string> {
  const headers: Record<string, string> = {
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cache-Control': 'no-cache',
  };
  // An assignment of the literal, so Electronegativity's CSP check can find and evaluate it.
  headers['Content-Security-Policy'] =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";
  if (contentType) headers['Content-Type'] = contentType;
  return headers;
}

export const APP_CSP: string = appResponseHeaders()['Content-Security-Policy']!;

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.txt': 'text/plain; charset=utf-8',
};

export function contentTypeOf(file: string): string {
  return CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}

export type AppRequestDecision = { file: string; contentType: string } | { status: 400 | 403 | 404 | 405; reason: string };

/**
 * Map a request on app:// to a file under `root` (the renderer's build folder), or refuse it.
 * Refused: other hosts, methods other than GET/HEAD, encoded or literal `..`, backslashes, NUL,
 * and anything that would resolve outside `root`. `/` is index.html.
 */
export function resolveAppRequest(requestUrl: string, method: string, root: string): AppRequestDecision {
  if (method !== 'GET' && method !== 'HEAD') return { status: 405, reason: 'method not allowed' };
  let u: URL;
  try {
    u = new URL(requestUrl);
  } catch {
    return { status: 400, reason: 'bad URL' };
  }
  if (u.protocol !== `${APP_SCHEME}:` || u.host.toLowerCase() !== APP_HOST || u.username || u.password) return { status: 403, reason: 'foreign origin' };
  let rel: string;
  try {
    rel = decodeURIComponent(u.pathname);
  } catch {
    return { status: 400, reason: 'bad path encoding' };
  }
  if (rel.includes('\0') || rel.includes('\\')) return { status: 403, reason: 'bad path' };
  const segments = rel.split('/').filter((s) => s !== '');
  if (segments.some((s) => s === '..' || s === '.' || /^[A-Za-z]:/.test(s))) return { status: 403, reason: 'path traversal' };
  if (segments.length === 0) segments.push('index.html');
  const base = path.resolve(root);
  const file = path.resolve(base, ...segments);
  if (!file.startsWith(base + path.sep)) return { status: 403, reason: 'outside the app folder' };
  return { file, contentType: contentTypeOf(file) };
}

/// <reference lib="dom" />
/**
 * The launcher window without Electron: dist/renderer served over loopback HTTP with the app's
 * CSP, and `window.roamlab` built in the page the way the preload builds it — one function per
 * contract channel plus onEvent — wired to a handler table in this process.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { CHANNELS, STRIP_CHANNELS, type RoamlabEvent, type StripEvent } from '../../../electron/common/ipc-contract';
import { APP_CSP, appResponseHeaders, contentTypeOf } from '../../../electron/core/policy/app-protocol';
import { REPO } from './cli';

export const RENDERER_SRC = path.join(REPO, 'renderer');
export const RENDERER_DIST = path.join(REPO, 'dist', 'renderer');

/** The Content-Security-Policy the launcher window is served with (the app's own, app://). */
export const LAUNCHER_CSP = APP_CSP;

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) newest = Math.max(newest, statSync(path.join(e.parentPath, e.name)).mtimeMs);
  }
  return newest;
}

/** Build dist/renderer when it is missing or older than any file under renderer/. */
export function ensureRendererBuilt(): void {
  const index = path.join(RENDERER_DIST, 'index.html');
  if (existsSync(index) && statSync(index).mtimeMs >= newestMtime(RENDERER_SRC)) return;
  execFileSync(process.execPath, [path.join(REPO, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', path.join(RENDERER_SRC, 'vite.config.mts')], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export interface StaticServer {
  url: string;
  close(): Promise<void>;
}

/** Serve a folder on 127.0.0.1 with the headers app:// answers with (its CSP included). */
export async function serveStatic(dir: string): Promise<StaticServer> {
  const server = http.createServer((req, res) => {
    const pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const file = path.join(dir, pathname === '/' ? 'index.html' : pathname);
    const headers = appResponseHeaders();
    if (pathname === '/favicon.ico') {
      res.writeHead(204, headers).end();
      return;
    }
    if (!file.startsWith(dir + path.sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, headers).end('not found');
      return;
    }
    res.writeHead(200, appResponseHeaders(contentTypeOf(file))).end(readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * What the page sees as `window.roamlab`, built by an init script before any page script runs,
 * as the preload builds it: one function per channel, onEvent, frozen. A string, not a function:
 * under tsx (esbuild keepNames) a function's inner names call a `__name` helper the page lacks.
 */
function bridgeScript(channels: readonly string[], global = 'roamlab'): string {
  return `(() => {
    const invoke = window.__roamlabInvoke;
    const listeners = new Set();
    const api = {};
    for (const c of ${JSON.stringify(channels)}) api[c] = (request) => invoke(c, request);
    api.onEvent = (listener) => {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    };
    Object.defineProperty(window, ${JSON.stringify(global)}, { value: Object.freeze(api) });
    Object.defineProperty(window, '__roamlabEmit', {
      value: (e) => {
        for (const l of [...listeners]) {
          try { l(e); } catch (err) { console.error(err); }
        }
      },
    });
  })();`;
}

/**
 * Give the page a `window.roamlab` backed by `invoke` (the real dispatch over a handler table,
 * or a stub), and return `emit`, which delivers an event to the page's onEvent listeners.
 */
export async function bindBridge(page: Page, invoke: (channel: string, request: unknown) => Promise<unknown>): Promise<(e: RoamlabEvent) => void> {
  return bindNamed(page, CHANNELS, 'roamlab', invoke);
}

/**
 * The Lab window's status strip (dist/renderer/strip.html) gets `window.roamlabStrip`, as the
 * strip's preload builds it: one function per strip channel, onEvent. `invoke` stands for main,
 * which knows the strip's session (the real dispatchStrip with a session id).
 */
export async function bindStripBridge(page: Page, invoke: (channel: string, request: unknown) => Promise<unknown>): Promise<(e: StripEvent) => void> {
  return bindNamed(page, STRIP_CHANNELS, 'roamlabStrip', invoke);
}

async function bindNamed<E>(page: Page, channels: readonly string[], global: string, invoke: (channel: string, request: unknown) => Promise<unknown>): Promise<(e: E) => void> {
  await page.exposeBinding('__roamlabInvoke', (_source, channel: string, request: unknown) => invoke(channel, request));
  await page.addInitScript({ content: bridgeScript(channels, global) });
  return (e) => {
    void page
      .evaluate((ev) => (window as unknown as { __roamlabEmit?: (e: unknown) => void }).__roamlabEmit?.(ev), e)
      .catch(() => undefined);
  };
}

/** CSP violations and errors the page reports, for asserting there were none. */
export function collectPageProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  return problems;
}

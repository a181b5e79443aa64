/**
 * The launcher window: how much it weighs (gzip of every file in dist/renderer) and how soon it
 * is usable — navigation start to the facilities list on screen with its first button focusable —
 * in Debian's Chromium, with a `window.roamlab` stub that answers at once, so the number is the
 * renderer's own cost.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { FacilitiesReply, Result } from '../electron/common/ipc-contract';
import { launchChromium } from '../test/integration/helpers/browser';
import { ensureRendererBuilt, RENDERER_DIST, serveStatic } from '../test/integration/helpers/launcher-page';

const SIZE_GOAL_KB = 250;
const INTERACTIVE_GOAL_MS = 300;

export interface RendererBenchOptions {
  loads?: number; // default 10 (after one warm-up load)
  log?: (line: string) => void;
}

export interface RendererBenchResult {
  files: { file: string; bytes: number; gzip: number }[];
  gzipTotal: number;
  interactiveMs: number[];
  medianMs: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Answers for the stub bridge: two facilities, nothing running. */
const STUB_FACILITIES: Result<FacilitiesReply> = {
  ok: true,
  value: {
    facilities: [
      { id: 'desy', name: 'DESY NAF', file: 'desy.json', hubOrigin: 'https://naf-jhub.desy.de', via: 'bastion.desy.de:22', username: 'alice', signedIn: true, rememberPassword: true, lastClass: 'small', classes: [
        { id: 'small', label: 'Small', memoryGB: 12, cores: 1, runtimeHours: 12, source: 'both' },
        { id: 'medium', label: 'Medium', memoryGB: 20, cores: 2, runtimeHours: 6, source: 'both' },
        { id: 'large', label: 'Large', memoryGB: 48, cores: 2, runtimeHours: 3, source: 'profile' },
      ] },
      { id: 'esrf', name: 'ESRF', file: 'esrf.json', hubOrigin: 'https://jupyter.esrf.fr', signedIn: false, rememberPassword: true, classes: [] },
    ],
    problems: [],
  },
};

/**
 * Runs in the page before its scripts: a bridge that answers from memory. A string, not a
 * function: tsx (esbuild keepNames) would wrap a function's inner names in a `__name` helper the
 * page does not have.
 */
function stubScript(facilities: unknown): string {
  return `(() => {
    const replies = {
      listFacilities: ${JSON.stringify(facilities)},
      listServers: { ok: true, value: { servers: [], unreachable: [] } },
      listSessions: { ok: true, value: [] },
    };
    const refused = { ok: false, error: { kind: 'usage', message: 'stub', hint: '', details: {} } };
    const api = new Proxy({}, {
      get: (_t, k) => (k === 'onEvent' ? () => () => undefined : () => Promise.resolve(replies[k] ?? refused)),
    });
    Object.defineProperty(window, 'roamlab', { value: api });
  })();`;
}

export async function runRendererBench(o: RendererBenchOptions = {}): Promise<RendererBenchResult> {
  const log = o.log ?? (() => undefined);
  const loads = o.loads ?? 10;
  ensureRendererBuilt();

  const files = readdirSync(RENDERER_DIST, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => {
      const full = path.join(d.parentPath, d.name);
      const buf = readFileSync(full);
      return { file: path.relative(RENDERER_DIST, full), bytes: buf.length, gzip: gzipSync(buf, { level: 9 }).length };
    })
    .sort((a, b) => b.gzip - a.gzip);
  const gzipTotal = files.reduce((n, f) => n + f.gzip, 0);
  log(`bundle: ${(gzipTotal / 1024).toFixed(1)} kB gzip in ${files.length} files`);

  const site = await serveStatic(RENDERER_DIST);
  const browser = await launchChromium();
  const interactiveMs: number[] = [];
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.addInitScript({ content: stubScript(STUB_FACILITIES) });
    for (let i = 0; i <= loads; i++) {
      await page.goto(`${site.url}?load=${i}`);
      await page.waitForFunction(() => document.documentElement.dataset.ready === 'true', undefined, { timeout: 10_000 }).catch((e: Error) => {
        throw new Error(`${e.message}\n${errors.join('\n')}`);
      });
      const ms = await page.evaluate(() => {
        const mark = performance.getEntriesByName('roamlab-interactive')[0];
        const first = document.querySelector<HTMLElement>('.facility-select');
        first?.focus();
        if (!mark || !first || document.activeElement !== first) throw new Error('the launcher is not interactive');
        return mark.startTime;
      });
      if (i > 0) interactiveMs.push(ms); // the first load warms Chromium's caches of V8 and fonts
      log(`load ${i}: ${ms.toFixed(1)} ms${i === 0 ? ' (warm-up)' : ''}`);
    }
    await context.close();
  } finally {
    await browser.close();
    await site.close();
  }
  return { files, gzipTotal, interactiveMs, medianMs: median(interactiveMs) };
}

export async function rendererBenchSection(o: RendererBenchOptions = {}): Promise<string> {
  const r = await runRendererBench(o);
  const kb = (n: number) => `${(n / 1024).toFixed(1)} kB`;
  const ok = (pass: boolean) => (pass ? 'meets the goal' : '**misses the goal**');
  return [
    '## Launcher window (renderer)',
    '',
    'dist/renderer as built by `npm run build:renderer` (Vite, React 19). Sizes are gzip -9 of each file (node:zlib).',
    `Interactive = navigation start to the facilities list on screen with its first button focusable (the app sets`,
    '`data-ready` and a `roamlab-interactive` performance mark after the first listFacilities reply), in Debian\'s',
    `Chromium, headless, 1280×800, with a stub \`window.roamlab\` that answers at once; median of ${r.interactiveMs.length} loads after one warm-up,`,
    'served over loopback HTTP with the app\'s CSP.',
    '',
    '| file | bytes | gzip |',
    '| --- | ---: | ---: |',
    ...r.files.map((f) => `| ${f.file} | ${f.bytes} | ${f.gzip} |`),
    `| **total** | ${r.files.reduce((n, f) => n + f.bytes, 0)} | **${r.gzipTotal}** (${kb(r.gzipTotal)}) |`,
    '',
    '| measure | result | goal |',
    '| --- | ---: | --- |',
    `| bundle, gzip | ${kb(r.gzipTotal)} | < ${SIZE_GOAL_KB} kB: ${ok(r.gzipTotal < SIZE_GOAL_KB * 1024)} |`,
    `| interactive, median | ${r.medianMs.toFixed(0)} ms (min ${Math.min(...r.interactiveMs).toFixed(0)}, max ${Math.max(...r.interactiveMs).toFixed(0)}) | < ${INTERACTIVE_GOAL_MS} ms: ${ok(r.medianMs < INTERACTIVE_GOAL_MS)} |`,
    '',
  ].join('\n');
}

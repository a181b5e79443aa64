import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.join(__dirname, '../../electron');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = path.join(dir, d.name);
    return d.isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const importsOf = (file: string): string[] =>
  [...readFileSync(file, 'utf8').matchAll(/(?:from\s+|require\(\s*|import\(\s*)['"]([^'"]+)['"]/g)].map((m) => m[1]!);

describe('layering', () => {
  // DESIGN.md: the core is plain Node and testable without Electron; the CLI uses only the core.
  it.each([['core'], ['cli']])('electron/%s never imports electron or the shell', (layer) => {
    const files = sources(path.join(root, layer));
    expect(files.length).toBeGreaterThan(0);
    const offenders = files.flatMap((f) =>
      importsOf(f)
        .filter((m) => m === 'electron' || m.startsWith('electron/') || /(^|\/)shell(\/|$)/.test(m))
        .map((m) => `${path.relative(root, f)} imports ${m}`),
    );
    expect(offenders).toEqual([]);
  });
});

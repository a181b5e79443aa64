/**
 * bin/roamlab.js's loader: the bundle runs as a CommonJS file would, and its V8 code cache is
 * written once, reused while the bundle is unchanged, and replaced when the bundle changes.
 * Each case is a fresh `node` process, as each `roamlab` start is.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const BIN = path.resolve(__dirname, '../../bin/roamlab.js');

describe('bin/roamlab.js loadBundle', () => {
  let dir: string;
  let bundle: string;
  let home: string;
  const cacheFile = () => path.join(home, 'cache', `cli-${process.version}-${process.arch}.v8cache`);
  const run = (env: NodeJS.ProcessEnv = {}) =>
    execFileSync(process.execPath, ['-e', `const b = require(${JSON.stringify(BIN)}).loadBundle(${JSON.stringify(bundle)}); process.stdout.write(JSON.stringify(b.main()));`], {
      env: { ...process.env, ROAMLAB_HOME: home, NODE_DISABLE_COMPILE_CACHE: '', ...env },
      encoding: 'utf8',
    });
  const header = () => {
    const buf = readFileSync(cacheFile());
    return JSON.parse(buf.toString('utf8', 0, buf.indexOf(10))) as [string, boolean];
  };

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'roamlab-launcher-'));
    home = path.join(dir, 'home');
    mkdirSync(path.join(dir, 'cli'));
    bundle = path.join(dir, 'cli', 'roamlab.js');
    writeFileSync(path.join(dir, 'cli', 'helper.js'), 'module.exports = 41;');
    writeFileSync(
      bundle,
      '"use strict";\nconst helper = require("./helper.js");\nconst os = require("node:os");\n' +
        'module.exports.main = () => ({ strict: (function () { return this === undefined; })(), helper: helper + 1, dirname: __dirname, filename: __filename, eol: os.EOL.length });\n',
    );
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('runs the bundle as a CommonJS module (require relative to it, __dirname, strict mode)', () => {
    expect(JSON.parse(run())).toEqual({ strict: true, helper: 42, dirname: path.dirname(bundle), filename: bundle, eol: os.EOL.length });
  });

  it('writes the code cache at the first exit and leaves it alone while it matches', () => {
    expect(existsSync(cacheFile())).toBe(false);
    run();
    expect(header()[0]).toContain(bundle);
    const first = statSync(cacheFile()).mtimeMs;
    run();
    expect(statSync(cacheFile()).mtimeMs).toBe(first);
  });

  it('replaces the cache when the bundle changes', () => {
    run();
    const before = header()[0];
    appendFileSync(bundle, '// rebuilt\n');
    expect(JSON.parse(run()).helper).toBe(42);
    expect(header()[0]).not.toBe(before);
  });

  it('replaces a cache V8 rejects, and runs regardless', () => {
    run();
    const [key] = header();
    writeFileSync(cacheFile(), Buffer.concat([Buffer.from(JSON.stringify([key, true]) + '\n'), Buffer.from('not a code cache')]));
    expect(JSON.parse(run()).helper).toBe(42);
    expect(statSync(cacheFile()).size).toBeGreaterThan(100);
  });

  it('writes no cache with NODE_DISABLE_COMPILE_CACHE', () => {
    run({ NODE_DISABLE_COMPILE_CACHE: '1' });
    expect(existsSync(path.join(home, 'cache'))).toBe(false);
  });
});

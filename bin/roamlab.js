#!/usr/bin/env node
'use strict';
// Thin launcher. The CLI is one bundled file, dist/cli/roamlab.js (scripts/bundle-cli.mjs, built by
// `npm run build` and on install by `prepare`), compiled with a V8 code cache so a start does not
// parse and compile ~2 MB of JavaScript again: about half of what loading the CLI costs. Where the
// bundle is missing or older than tsc's output (only `tsc` was run since), it loads that output,
// dist/electron/cli/main.js, instead.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const vm = require('node:vm');
const { createRequire } = require('node:module');

const DIST = path.join(__dirname, '..', 'dist');
const BUNDLE = path.join(DIST, 'cli', 'roamlab.js');
const UNBUNDLED = path.join(DIST, 'electron', 'cli', 'main.js');

/**
 * The code cache lives with the user's other caches (private to them: V8 runs what it finds there),
 * under $ROAMLAB_HOME/cache when that is set, as in the tests. NODE_DISABLE_COMPILE_CACHE turns it
 * off, as it does Node's own compile cache.
 */
function cacheDir(env) {
  if (env.NODE_DISABLE_COMPILE_CACHE) return undefined;
  if (env.ROAMLAB_HOME) return path.join(path.resolve(env.ROAMLAB_HOME), 'cache');
  const home = os.homedir();
  if (process.platform === 'darwin') return path.join(home, 'Library', 'Caches', 'Roamlab');
  if (process.platform === 'win32') return path.join(env.LOCALAPPDATA || path.join(home, 'AppData', 'Local'), 'Roamlab', 'Cache');
  return path.join(env.XDG_CACHE_HOME || path.join(home, '.cache'), 'roamlab');
}

/**
 * Load the bundle (as Node loads a CommonJS file) and return its exports: { main, openSshTransport, loadGateway }
 * (the last two for the tunnel benchmark, which starts them as `roamlab start` does).
 *
 * V8 checks a code cache against its own version and flags and the source's length, not its
 * content, so the cache file names the bundle it was made from: path, size, mtime, ctime (any
 * write changes ctime). A cache that does not match, or that V8 rejects, is replaced. The cache is
 * made after the process has run (at exit, or after 5 s), so it also holds the functions compiled
 * on first call — the SSH handshake's, the hub client's — not only the top level, which is what
 * makes it worth having (Node's own module.enableCompileCache() saves the top level only).
 */
function loadBundle(file = BUNDLE, env = process.env) {
  const source = fs.readFileSync(file, 'utf8');
  const st = fs.statSync(file);
  const dir = cacheDir(env);
  const cacheFile = dir && path.join(dir, `cli-${process.version}-${process.arch}.v8cache`);
  const key = JSON.stringify([file, st.size, st.mtimeMs, st.ctimeMs]);
  let cachedData;
  let warm = false;
  if (cacheFile) {
    try {
      const buf = fs.readFileSync(cacheFile);
      const nl = buf.indexOf(10);
      const [k, w] = JSON.parse(buf.toString('utf8', 0, nl));
      if (k === key) [cachedData, warm] = [buf.subarray(nl + 1), w];
    } catch {
      // no cache yet
    }
  }
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, { filename: file, cachedData });
  const save = (afterWarmUp) => {
    try {
      const data = script.createCachedData();
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      const tmp = `${cacheFile}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, Buffer.concat([Buffer.from(JSON.stringify([key, afterWarmUp]) + '\n'), data]), { mode: 0o600 });
      fs.renameSync(tmp, cacheFile);
    } catch {
      // a cache that cannot be written only means the next start compiles again
    }
  };
  // A cache made at the exit of a short command (`facilities`) lacks the tunnel's functions: a
  // process that runs 5 s (`start`) replaces it once.
  if (cacheFile && (!cachedData || script.cachedDataRejected || !warm)) {
    const atExit = () => save(false);
    if (!cachedData || script.cachedDataRejected) process.once('exit', atExit);
    setTimeout(() => {
      process.off('exit', atExit);
      save(true);
    }, 5000).unref();
  }
  const mod = { exports: {}, id: file, filename: file, loaded: false };
  script.runInThisContext()(mod.exports, createRequire(file), mod, file, path.dirname(file));
  mod.loaded = true;
  return mod.exports;
}

/** The CLI's exports: the bundle when it is there and current, else tsc's output. */
function loadCli() {
  const bundle = fs.statSync(BUNDLE, { throwIfNoEntry: false });
  const unbundled = fs.statSync(UNBUNDLED, { throwIfNoEntry: false });
  return bundle && (!unbundled || bundle.mtimeMs >= unbundled.mtimeMs) ? loadBundle() : require(UNBUNDLED);
}

module.exports = { loadCli, loadBundle };

if (require.main === module) {
  loadCli().main(process.argv.slice(2)).then(
    (code) => { process.exitCode = code; },
    (err) => { console.error(`roamlab: ${err && err.message ? err.message : err}`); process.exitCode = 70; },
  );
}

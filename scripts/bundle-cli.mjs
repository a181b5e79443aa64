#!/usr/bin/env node
/**
 * The CLI as one CommonJS file: dist/cli/roamlab.js, which bin/roamlab.js loads.
 *
 * Why: `roamlab start` used to require ~300 files under dist/ and node_modules before its first
 * byte of network traffic (zod alone ~50, ssh2 ~25); each is a path resolution, a stat, a read
 * and a compile. One bundle turns that into one read and one compile, and esbuild tree-shakes
 * the ES-module dependencies (zod) that the TypeScript sources import. See BENCHMARKS.md, setup.
 *
 * Bundled from the TypeScript sources (esbuild only strips types; `tsc` still type-checks and
 * still emits dist/electron for Electron and the tests). Left outside the bundle, loaded from
 * node_modules at run time as before:
 *   - native addons: @napi-rs/keyring (picks its platform package itself), cpu-features, and
 *     ssh2's own sshcrypto.node, which ssh2 requires by a relative path; that path is rewritten to
 *     the package path ("ssh2/lib/.../sshcrypto.node") so it resolves from dist/cli/ as well;
 *   - optional peers a dependency requires inside try/catch (ws: bufferutil, utf-8-validate).
 *
 * The bundle also exports openSshTransport and loadGateway, so the tunnel benchmark runs the
 * transport and the gateway from the file that ships, in a process of their own, as `roamlab start`
 * does, rather than from dist/electron.
 *
 * Usage: node scripts/bundle-cli.mjs [--outfile FILE]   (npm run build:cli; part of npm run build)
 * (the tunnel benchmark bundles into a temp folder with --outfile when dist/cli is older than the
 * sources)
 */
import { build } from 'esbuild';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const CLI_BUNDLE = path.join(REPO, 'dist', 'cli', 'roamlab.js');

/** Native addons stay files on disk; a relative require of one becomes a package path. */
const nativeAddons = {
  name: 'native-addons',
  setup(b) {
    b.onResolve({ filter: /\.node$/ }, (args) => {
      const abs = path.resolve(args.resolveDir, args.path);
      const i = abs.lastIndexOf(`${path.sep}node_modules${path.sep}`);
      if (i < 0) return { errors: [{ text: `native addon outside node_modules: ${abs}` }] };
      return { path: abs.slice(i + '/node_modules/'.length).split(path.sep).join('/'), external: true };
    });
  },
};

export async function bundleCli(outfile = CLI_BUNDLE) {
  mkdirSync(path.dirname(outfile), { recursive: true });
  await build({
    stdin: {
      contents: [
        "export { main } from './electron/cli/main';",
        "export { openSshTransport } from './electron/core/transport/ssh-transport';",
        // A loader, not the class: the gateway's ws pulls in https and tls, which the CLI loads
        // only when a session opens its gateway (session.ts imports it dynamically too).
        "export const loadGateway = () => import('./electron/core/gateway/gateway');",
      ].join('\n'),
      resolveDir: REPO,
      sourcefile: 'roamlab-cli-entry.ts',
      loader: 'ts',
    },
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    outfile,
    tsconfig: path.join(REPO, 'tsconfig.json'),
    external: ['electron', '@napi-rs/keyring', 'cpu-features', 'bufferutil', 'utf-8-validate'],
    plugins: [nativeAddons],
    // Without comments and whitespace, and ASCII only (a non-ASCII byte makes V8 decode the whole
    // file as UTF-16): the loader reads ~1 MB less at every start. Names are kept, so stack
    // traces stay readable.
    minifyWhitespace: true,
    minifySyntax: true,
    charset: 'ascii',
    legalComments: 'none',
    logLevel: 'warning',
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--outfile');
  const outfile = i > 0 ? path.resolve(process.argv[i + 1]) : CLI_BUNDLE;
  const t0 = Date.now();
  await bundleCli(outfile);
  console.log(`bundled ${path.relative(REPO, outfile)} in ${Date.now() - t0} ms`);
}

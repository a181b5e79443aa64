/**
 * The shipped CLI bundle (dist/cli/roamlab.js, built by `npm run build` before the tests) keeps
 * what makes `roamlab start` reach the network sooner (BENCHMARKS.md, setup): it is ASCII only, so
 * V8 keeps the source as a one-byte string instead of decoding ~1 MB to UTF-16 at every start,
 * and loading it does not load ssh2, https or tls — those come when a connection needs them.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const REPO = path.resolve(__dirname, '../..');
const BUNDLE = path.join(REPO, 'dist/cli/roamlab.js');

describe('the CLI bundle', () => {
  it('is ASCII only', () => {
    const bytes = readFileSync(BUNDLE);
    const at = bytes.findIndex((b) => b > 0x7f);
    expect(at === -1 ? '' : bytes.subarray(Math.max(0, at - 40), at + 10).toString('utf8')).toBe('');
  });

  it('loads without ssh2, https or tls, and ssh2 comes with the first SSH connection attempt', () => {
    const out = execFileSync(
      process.execPath,
      [
        '-e',
        `
        const loaded = () => ({
          ssh2: Object.keys(require.cache).some((f) => f.includes('sshcrypto')),
          https: process.moduleLoadList.includes('NativeModule https'),
          tls: process.moduleLoadList.includes('NativeModule tls'),
        });
        const cli = require(${JSON.stringify(path.join(REPO, 'bin/roamlab.js'))}).loadBundle(${JSON.stringify(BUNDLE)}, { NODE_DISABLE_COMPILE_CACHE: '1' });
        const before = loaded();
        cli.openSshTransport({ hubUrl: new URL('http://127.0.0.1:9/'), ssh: { host: '127.0.0.1', port: 9, user: 'x', identityFile: '/nonexistent', knownHostsFile: '/nonexistent' } })
          .catch((e) => process.stdout.write(JSON.stringify({ before, after: loaded(), kind: e.kind })));
        `,
      ],
      { encoding: 'utf8' },
    );
    const r = JSON.parse(out) as { before: Record<string, boolean>; after: Record<string, boolean>; kind: string };
    expect(r.before).toEqual({ ssh2: false, https: false, tls: false });
    // A missing key is reported as such, though the TCP connect went first.
    expect(r.kind).toBe('ssh-key-unreadable');
    expect(r.after.ssh2).toBe(true);
  });
});

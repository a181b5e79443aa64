/**
 * Modules loaded on first use rather than when the core is. `roamlab start` reaches the network
 * before it needs any of them, and each costs start-up time (measured on the CLI bundle,
 * BENCHMARKS.md "setup"): ssh2 ~16 ms (its OpenSSL self-tests and cipher tables), https with tls
 * ~10 ms, node-html-parser ~7 ms. ssh2 is loaded while the TCP connect to the gateway is under
 * way (ssh-transport.ts); https and tls only for a hub that speaks https; the HTML parser when a
 * hub page (login form, spawn form) is read; the keychain's native addon when a secret is read or
 * written. Node caches modules, so later calls are free.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
import type * as Crypto from 'node:crypto';
import type * as Https from 'node:https';
import type * as Tls from 'node:tls';
import type * as HtmlParser from 'node-html-parser';
import type * as Keyring from '@napi-rs/keyring';
import type * as Ssh2 from 'ssh2';

/**
 * ssh2 fills the padding of every packet it sends with `crypto.randomFillSync`: 4 to 19 bytes at
 * a time, at ~19 µs a call here (the call's own cost, not the bytes'), which was a tenth of the
 * gateway's CPU per proxied request (BENCHMARKS.md). ssh2 takes the function when it loads; it
 * gets one that hands out the bytes of a 4 KiB block drawn from the same generator, each byte
 * once. Only ssh2 sees it: the module keeps its own function for everyone else.
 */
export const loadSsh2 = (): typeof Ssh2 => {
  const crypto = require('node:crypto') as typeof Crypto;
  const own = crypto.randomFillSync;
  crypto.randomFillSync = pooledRandomFill(own);
  try {
    return require('ssh2') as typeof Ssh2;
  } finally {
    crypto.randomFillSync = own;
  }
};

export function pooledRandomFill(own: typeof Crypto.randomFillSync): typeof Crypto.randomFillSync {
  let pool = Buffer.alloc(0);
  let used = 0;
  return (<T extends NodeJS.ArrayBufferView | ArrayBuffer>(target: T, offset = 0, size?: number): T => {
    const n = size ?? (target as { byteLength: number }).byteLength - offset;
    if (!(target instanceof Uint8Array) || n > 256 || n < 0) return own(target as never, offset, size) as T;
    if (used + n > pool.length) {
      pool = own(Buffer.allocUnsafe(4096));
      used = 0;
    }
    target.set(pool.subarray(used, used + n), offset);
    used += n;
    return target;
  }) as typeof Crypto.randomFillSync;
}
export const loadHttps = (): typeof Https => require('node:https') as typeof Https;
export const loadTls = (): typeof Tls => require('node:tls') as typeof Tls;
export const loadHtmlParser = (): typeof HtmlParser => require('node-html-parser') as typeof HtmlParser;
export const loadKeyring = (): typeof Keyring => require('@napi-rs/keyring') as typeof Keyring;

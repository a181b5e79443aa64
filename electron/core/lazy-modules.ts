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
import type * as Https from 'node:https';
import type * as Tls from 'node:tls';
import type * as HtmlParser from 'node-html-parser';
import type * as Keyring from '@napi-rs/keyring';
import type * as Ssh2 from 'ssh2';

export const loadSsh2 = (): typeof Ssh2 => require('ssh2') as typeof Ssh2;
export const loadHttps = (): typeof Https => require('node:https') as typeof Https;
export const loadTls = (): typeof Tls => require('node:tls') as typeof Tls;
export const loadHtmlParser = (): typeof HtmlParser => require('node-html-parser') as typeof HtmlParser;
export const loadKeyring = (): typeof Keyring => require('@napi-rs/keyring') as typeof Keyring;

import { readFileSync } from 'node:fs';
import type * as Tls from 'node:tls';
import { loadTls } from '../lazy-modules';

/**
 * The certificate authorities a hub's TLS certificate is checked against: Node's bundled roots
 * (Mozilla's), NODE_EXTRA_CA_CERTS, and the operating system's own store. Node trusts only the
 * first two; a facility whose hub has a certificate from its own CA, which the institute's IT
 * installed on the laptop, is trusted by the browser, curl and the OS but not by Node, and the
 * person was told "a certificate this computer does not trust" — wrong, and with no way out in
 * an app started from a menu, where no environment variable can be set.
 *
 * The OS store is, on Linux, the distribution's bundle file (the first of LINUX_CA_FILES that
 * exists, as Go and OpenSSL-based tools look for it; SSL_CERT_FILE first when set), which
 * update-ca-certificates / update-ca-trust maintain; elsewhere it is Node's
 * `tls.getCACertificates('system')` (macOS keychain, Windows certificate store), present in
 * Electron 41's Node (24) and in Node ≥ 22.15, and absent in Node 20, which can only read files.
 *
 * Checks stay on: this adds trust anchors the computer already has, and nothing else.
 */
export const LINUX_CA_FILES: readonly string[] = [
  '/etc/ssl/certs/ca-certificates.crt', // Debian, Ubuntu, Arch, Gentoo
  '/etc/pki/tls/certs/ca-bundle.crt', // Fedora, RHEL
  '/etc/ssl/ca-bundle.pem', // openSUSE
  '/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem', // CentOS / RHEL 7
  '/etc/ssl/cert.pem', // Alpine
];

export interface TrustOptions {
  /**
   * PEM files that stand in for the operating system's store (all of them are read). Default:
   * the platform's store as above.
   */
  systemCaFiles?: readonly string[];
}

/** The files this platform's store is read from; [] where it is not a file (macOS, Windows). */
export function systemCaFiles(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string[] {
  if (platform !== 'linux') return [];
  const set = env.SSL_CERT_FILE ? [env.SSL_CERT_FILE] : [];
  return [...set, ...LINUX_CA_FILES];
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The certificates (PEM) of a bundle file's text; anything else in it (comments, keys) is left out. */
export function pemCertificates(text: string): string[] {
  return text.match(PEM_CERT) ?? [];
}

/** The certificates of the first of these files that can be read (of every one, with `all`). */
function readBundles(files: readonly string[], all: boolean): string[] {
  const found: string[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue; // not on this distribution
    }
    found.push(...pemCertificates(text));
    if (!all) break;
  }
  return found;
}

/** A certificate's identity for de-duplication: its base64 body (bundles wrap lines differently). */
const body = (pem: string): string => pem.replace(/-----[A-Z ]+-----|\s+/g, '');

/** Every trust anchor, PEM, without duplicates: Node's defaults (bundled + extra) and the OS store's. */
export function trustedCertificates(o: TrustOptions = {}): string[] {
  const tls = loadTls();
  const getCA = (tls as { getCACertificates?: (kind: string) => string[] }).getCACertificates;
  const out = new Map<string, string>();
  const add = (pems: Iterable<string>) => {
    for (const c of pems) out.set(body(c), c);
  };
  if (getCA) {
    add(getCA('default'));
  } else {
    add(tls.rootCertificates);
    // Node 20 adds these only to its own default store, which an explicit one replaces.
    const extra = process.env.NODE_EXTRA_CA_CERTS;
    if (extra) add(readBundles([extra], true));
  }
  const files = o.systemCaFiles ?? systemCaFiles();
  if (files.length > 0) {
    add(readBundles(files, o.systemCaFiles !== undefined));
  } else if (getCA) {
    try {
      add(getCA('system'));
    } catch {
      // a store that cannot be read adds nothing; Node's own CAs stay
    }
  }
  return [...out.values()];
}

let defaultContext: Tls.SecureContext | undefined;

/**
 * A TLS context that trusts trustedCertificates(), for the agents that reach the hub. Made once
 * per process for the default options: OpenSSL parses ~170 certificates in ~30 ms here, which a
 * context per connection would pay every time. (OpenSSL skips an entry it cannot parse, so one
 * broken certificate in a bundle costs only itself.) Should the context still fail, Node's own
 * defaults stay in place (undefined), never no trust.
 */
export function hubSecureContext(o: TrustOptions = {}): Tls.SecureContext | undefined {
  const isDefault = o.systemCaFiles === undefined;
  if (isDefault && defaultContext) return defaultContext;
  let ctx: Tls.SecureContext;
  try {
    ctx = loadTls().createSecureContext({ ca: trustedCertificates(o) });
  } catch {
    return undefined;
  }
  if (isDefault) defaultContext = ctx;
  return ctx;
}

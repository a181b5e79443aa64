import { promises as fsp, readFileSync } from 'node:fs';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDirectTransport } from '../../../electron/core/transport/direct';
import { hubSecureContext, LINUX_CA_FILES, pemCertificates, systemCaFiles, trustedCertificates } from '../../../electron/core/transport/trust-store';
import { makeTestCa, type TestCa } from '../../rig/tls';

// A hub whose certificate comes from the facility's own CA, which IT installed in the laptop's
// store: a real TLS server on loopback with such a certificate, and the CA in a bundle file
// standing in for the OS store.

let dir: string;
let ca: TestCa;
let caPem: string;
let server: https.Server;
let port: number;

beforeAll(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'roamlab-trust-'));
  ca = await makeTestCa(dir);
  caPem = readFileSync(ca.caFile, 'utf8');
  server = https.createServer({ key: readFileSync(ca.keyFile), cert: readFileSync(ca.certFile) }, (req, res) => res.end(`hub ${req.url}`));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  await fsp.rm(dir, { recursive: true, force: true });
});

/** A TLS handshake with the test server as "localhost", checked against the context given. */
function handshake(secureContext: tls.SecureContext | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', secureContext }, () => {
      s.end();
      resolve('trusted');
    });
    s.on('error', reject);
  });
}

describe('the OS certificate store', () => {
  it('is the distribution bundle on Linux, SSL_CERT_FILE first when set; no file elsewhere', () => {
    expect(systemCaFiles({}, 'linux')).toEqual([...LINUX_CA_FILES]);
    expect(systemCaFiles({}, 'linux')[0]).toBe('/etc/ssl/certs/ca-certificates.crt');
    expect(systemCaFiles({ SSL_CERT_FILE: '/opt/site/ca.pem' }, 'linux')[0]).toBe('/opt/site/ca.pem');
    expect(systemCaFiles({}, 'darwin')).toEqual([]);
    expect(systemCaFiles({ SSL_CERT_FILE: '/x' }, 'win32')).toEqual([]);
  });

  it('reads the certificates of a bundle and nothing else in it', () => {
    const key = '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n';
    const text = `# Site CA\n${caPem}\n${key}# Another\n${tls.rootCertificates[0]}\n`;
    const certs = pemCertificates(text);
    expect(certs).toHaveLength(2);
    expect(certs[0]!.trim()).toBe(caPem.trim());
    expect(certs.join('')).not.toContain('PRIVATE KEY');
  });

  it('adds the store to Node\'s own CAs, each certificate once however the bundle wraps its lines', async () => {
    // The same root as Node bundles it, re-wrapped at 76 columns, as some bundles are.
    const root = tls.rootCertificates[0]!;
    const b64 = root.replace(/-----[A-Z ]+-----|\s+/g, '');
    const rewrapped = `-----BEGIN CERTIFICATE-----\n${b64.match(/.{1,76}/g)!.join('\n')}\n-----END CERTIFICATE-----`;
    const bundle = path.join(dir, 'bundle.pem');
    await fsp.writeFile(bundle, `${rewrapped}\n${caPem}`);
    const nodes = trustedCertificates({ systemCaFiles: [] }); // bundled, and NODE_EXTRA_CA_CERTS if set
    expect(nodes.length).toBeGreaterThanOrEqual(tls.rootCertificates.length);
    const all = trustedCertificates({ systemCaFiles: [path.join(dir, 'missing.pem'), bundle] });
    expect(all).toHaveLength(nodes.length + 1);
    expect(all.map((c) => c.trim())).toContain(caPem.trim());
  });

  it('trusts a hub certificate from a CA the store holds, and not one from a CA it lacks', async () => {
    await expect(handshake(hubSecureContext({ systemCaFiles: [ca.caFile] }))).resolves.toBe('trusted');
    await expect(handshake(hubSecureContext({ systemCaFiles: [] }))).rejects.toThrow(/unable to (verify|get local issuer)|self.signed/i);
    // A store that is not there, or not readable as certificates, leaves Node's CAs in place.
    const junk = path.join(dir, 'junk.pem');
    await fsp.writeFile(junk, '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n');
    const nodes = trustedCertificates({ systemCaFiles: [] }).length;
    expect(trustedCertificates({ systemCaFiles: [junk, path.join(dir, 'nope.pem')] })).toHaveLength(nodes + 1);
    await expect(handshake(hubSecureContext({ systemCaFiles: [junk] }))).rejects.toThrow(/unable to (verify|get local issuer)|self.signed/i);
  });

  it('keeps NODE_EXTRA_CA_CERTS, which Node 20 drops once a store is given', async () => {
    const before = process.env.NODE_EXTRA_CA_CERTS;
    process.env.NODE_EXTRA_CA_CERTS = ca.caFile;
    try {
      await expect(handshake(hubSecureContext({ systemCaFiles: [] }))).resolves.toBe('trusted');
    } finally {
      if (before === undefined) delete process.env.NODE_EXTRA_CA_CERTS;
      else process.env.NODE_EXTRA_CA_CERTS = before;
    }
  });

  it('is what a direct https transport checks the hub against', async () => {
    const get = (agent: https.Agent) =>
      new Promise<string>((resolve, reject) => {
        https
          .get(`https://localhost:${port}/hub/api`, { agent, lookup: (_h, _o, cb) => cb(null, [{ address: '127.0.0.1', family: 4 }]) }, (res) => {
            let body = '';
            res.on('data', (d: Buffer) => (body += d.toString()));
            res.on('end', () => resolve(body));
          })
          .on('error', reject);
      });
    const trusted = openDirectTransport(new URL(`https://localhost:${port}/`), { systemCaFiles: [ca.caFile] });
    const untrusted = openDirectTransport(new URL(`https://localhost:${port}/`), { systemCaFiles: [] });
    try {
      expect(await get(trusted.agent as https.Agent)).toBe('hub /hub/api');
      await expect(get(untrusted.agent as https.Agent)).rejects.toThrow(/unable to (verify|get local issuer)|self.signed/i);
    } finally {
      await trusted.close();
      await untrusted.close();
    }
  });
});

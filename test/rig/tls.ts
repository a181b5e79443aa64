/**
 * A throwaway certificate authority and a server certificate it signed, made with the openssl
 * command line, as a facility's own CA would issue a hub's certificate. Valid for a day.
 */
import { execFileSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';

export interface TestCa {
  /** The CA's certificate (PEM): what a trust store would hold. */
  caFile: string;
  /** The server's certificate and key (PEM), for the names given. */
  certFile: string;
  keyFile: string;
}

export async function makeTestCa(dir: string, dnsNames: readonly string[] = ['localhost']): Promise<TestCa> {
  const f = (name: string) => path.join(dir, name);
  const ssl = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  ssl(['req', '-x509', ...ec, '-days', '1', '-subj', '/CN=Roamlab test CA', '-keyout', f('ca.key'), '-out', f('ca.crt')]);
  ssl(['req', ...ec, '-subj', `/CN=${dnsNames[0]}`, '-keyout', f('server.key'), '-out', f('server.csr')]);
  await fsp.writeFile(f('ext.cnf'), `subjectAltName=${dnsNames.map((n) => `DNS:${n}`).join(',')}\n`);
  ssl(['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '1', '-extfile', f('ext.cnf'), '-out', f('server.crt')]);
  return { caFile: f('ca.crt'), certFile: f('server.crt'), keyFile: f('server.key') };
}

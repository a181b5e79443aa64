/**
 * SSH gateways that want more than a key: a one-time code after it (AuthenticationMethods
 * publickey,keyboard-interactive, through PAM with pam_oath, as facilities run it), or the
 * "password" method. Real OpenSSH sshds; the codes are real TOTP codes (RFC 6238).
 */
import { promises as fsp, readFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { openSshTransport, type OpenSshTransportOptions, type SshAuthPrompt } from '../../electron/core/transport/ssh-transport';
import type { HubTransport } from '../../electron/core/transport/transport';
import { startSshd, type RigSshd } from '../rig/sshd';
import { expectKind } from './helpers/errors';

let otpGate: RigSshd;
let pwGate: RigSshd;
let plainGate: RigSshd;
let hub: http.Server;
let hubPort: number;
const open: HubTransport[] = [];

function get(url: string, agent: http.Agent): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

async function connect(rig: RigSshd, o: Partial<OpenSshTransportOptions> = {}, ssh: Partial<OpenSshTransportOptions['ssh']> = {}): Promise<HubTransport> {
  const t = await openSshTransport({
    hubUrl: new URL(`http://127.0.0.1:${hubPort}/hub/`),
    ssh: rig.profileSsh(ssh),
    systemKnownHostsFiles: [],
    agent: false,
    ...o,
  });
  open.push(t);
  return t;
}

beforeAll(async () => {
  hub = http.createServer((req, res) => res.end(`hub says ${req.url}`));
  await new Promise<void>((r) => hub.listen(0, '127.0.0.1', r));
  hubPort = (hub.address() as AddressInfo).port;
  [otpGate, pwGate, plainGate] = await Promise.all([startSshd({ otp: {} }), startSshd({ otp: { methods: 'publickey,password' } }), startSshd()]);
});

afterAll(async () => {
  await Promise.all(open.map((t) => t.close()));
  hub?.closeAllConnections();
  await new Promise((r) => hub?.close(r));
  await Promise.all([otpGate?.stop(), pwGate?.stop(), plainGate?.stop()]);
});

describe('a gateway that wants a one-time code after the key', () => {
  it('asks for the code with the server\'s own prompt, hidden, and connects with it', async () => {
    const asked: SshAuthPrompt[] = [];
    const t = await connect(otpGate, { answerPrompts: async (p) => (asked.push(p), [otpGate.otp!.next()]) });
    expect(await get(`http://127.0.0.1:${hubPort}/hub/api`, t.agent)).toBe('hub says /hub/api');
    expect(asked).toHaveLength(1);
    expect(asked[0]).toMatchObject({ host: otpGate.host, port: otpGate.port, user: otpGate.user, attempt: 1 });
    expect(asked[0]!.prompts).toEqual([{ prompt: expect.stringMatching(/one-time password/i), echo: false }]);
    expect(asked[0]!.jump).toBeUndefined();
  });

  it('asks again after a wrong code, saying it is a second attempt', async () => {
    const asked: SshAuthPrompt[] = [];
    const t = await connect(otpGate, { answerPrompts: async (p) => (asked.push(p), [p.attempt === 1 ? otpGate.otp!.wrong() : otpGate.otp!.next()]) });
    expect(await get(`http://127.0.0.1:${hubPort}/hub/again`, t.agent)).toBe('hub says /hub/again');
    expect(asked.map((p) => p.attempt)).toEqual([1, 2]);
  });

  it('gives up after three wrong codes, saying what to check', async () => {
    let asked = 0;
    const err = await expectKind(connect(otpGate, { answerPrompts: async () => (asked++, [otpGate.otp!.wrong()]) }), 'ssh-auth-failed');
    expect(asked).toBe(3);
    expect(err.message).toBe(`The SSH gateway ${otpGate.host}:${otpGate.port} did not accept what was typed at its prompt for user "${otpGate.user}" (3 tries).`);
    expect(err.hint).toMatch(/one-time code/);
  });

  it('a person who declines ends the sign-in as cancelled, at once', async () => {
    const t0 = Date.now();
    const err = await expectKind(connect(otpGate, { answerPrompts: async () => null }), 'cancelled');
    expect(err.message).toBe(`Signing in to the SSH gateway ${otpGate.host}:${otpGate.port} was cancelled.`);
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('with nobody to ask, says the key was accepted and what else the gateway wants', async () => {
    const err = await expectKind(connect(otpGate), 'ssh-auth-failed');
    expect(err.message).toBe(`The SSH gateway ${otpGate.host}:${otpGate.port} accepted the key for user "${otpGate.user}", then asked for a second step as well: a prompt (a one-time code or a password).`);
    expect(err.hint).toMatch(/where Roamlab can ask you/);
  });

  it('the handshake timeout does not run while the person looks for the code (or compares a host key)', async () => {
    const known = path.join(otpGate.dir, 'empty_known_hosts');
    await fsp.writeFile(known, '');
    const slow = <T>(v: T) => new Promise<T>((r) => setTimeout(() => r(v), 2500));
    const t = await connect(
      otpGate,
      { readyTimeoutMs: 1500, confirmUnknownHostKey: () => slow(true), answerPrompts: () => slow([otpGate.otp!.next()]) },
      { knownHostsFile: known },
    );
    expect(await get(`http://127.0.0.1:${hubPort}/hub/slow`, t.agent)).toBe('hub says /hub/slow');
    expect(readFileSync(known, 'utf8')).toContain(`[${otpGate.host}]:${otpGate.port} `);
  });

  it('answers the "password" method the same way', async () => {
    const asked: SshAuthPrompt[] = [];
    const t = await connect(pwGate, { answerPrompts: async (p) => (asked.push(p), [pwGate.otp!.next()]) });
    expect(await get(`http://127.0.0.1:${hubPort}/hub/pw`, t.agent)).toBe('hub says /hub/pw');
    expect(asked[0]!.prompts).toEqual([{ prompt: `Password for ${pwGate.user}@${pwGate.host}:${pwGate.port}:`, echo: false }]);
  });

  it('asks for a jump host\'s code as the jump host\'s', async () => {
    // The bastion wants the code; the gateway behind it a key alone.
    const known = path.join(plainGate.dir, 'known_both');
    await fsp.writeFile(known, readFileSync(plainGate.knownHostsFile, 'utf8') + readFileSync(otpGate.knownHostsFile, 'utf8'));
    await fsp.appendFile(path.join(otpGate.dir, 'authorized_keys'), readFileSync(`${plainGate.identityFile}.pub`));
    const asked: SshAuthPrompt[] = [];
    const t = await connect(
      plainGate,
      { answerPrompts: async (p) => (asked.push(p), [otpGate.otp!.next()]) },
      { knownHostsFile: known, jumpHosts: [{ host: otpGate.host, port: otpGate.port }] },
    );
    expect(await get(`http://127.0.0.1:${hubPort}/hub/jump`, t.agent)).toBe('hub says /hub/jump');
    expect(asked).toEqual([expect.objectContaining({ host: otpGate.host, port: otpGate.port, jump: true, attempt: 1 })]);
  });
});

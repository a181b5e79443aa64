import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fsp, readFileSync, statSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  appendHostKey,
  checkHostKeyFiles,
  checkHostKeyText,
  fingerprintSha256,
  formatKnownHostsLine,
  hashHostName,
  keyTypeOfBlob,
  knownHostsName,
  knownKeyTypes,
  matchHostPatternList,
  matchPattern,
  parseKnownHosts,
  readKnownHostsFiles,
  systemKnownHostsFiles,
} from '../../electron/core/transport/known-hosts';

/** One known_hosts file read and checked as a connect does (readKnownHostsFiles, checkHostKeyFiles). */
async function checkHostKey(file: string, host: string, port: number, keyType: string, keyBlob: Buffer) {
  const { file: _which, ...check } = checkHostKeyFiles(await readKnownHostsFiles([file]), host, port, keyType, keyBlob);
  return check;
}

/** A syntactically valid ed25519 public key blob with random key bytes. */
function fakeKey(type = 'ssh-ed25519', len = 32): Buffer {
  const t = Buffer.from(type);
  const k = randomBytes(len);
  const b = Buffer.alloc(8 + t.length + k.length);
  b.writeUInt32BE(t.length, 0);
  t.copy(b, 4);
  b.writeUInt32BE(k.length, 4 + t.length);
  k.copy(b, 8 + t.length);
  return b;
}

const b64 = (b: Buffer) => b.toString('base64');

describe('patterns', () => {
  it('matches * and ? over the whole name', () => {
    expect(matchPattern('gate.example.org', '*.example.org')).toBe(true);
    expect(matchPattern('gate.example.org', 'gate.example.or?')).toBe(true);
    expect(matchPattern('gate.example.org', 'gate.example.o?')).toBe(false);
    expect(matchPattern('gate.example.org', 'gate')).toBe(false);
    expect(matchPattern('gate.example.org', '*')).toBe(true);
    expect(matchPattern('a.b.c', 'a*c')).toBe(true);
    expect(matchPattern('abc', 'a*b*c*')).toBe(true);
    expect(matchPattern('[10.0.0.1]:2222', '[10.0.0.?]:2222')).toBe(true);
    expect(matchPattern('', '*')).toBe(true);
  });

  it('lets a negated pattern exclude a host that a wildcard includes', () => {
    expect(matchHostPatternList('gate.example.org', '*.example.org,!gate.example.org')).toBe(false);
    expect(matchHostPatternList('other.example.org', '*.example.org,!gate.example.org')).toBe(true);
    // Negation alone never makes a match.
    expect(matchHostPatternList('other.example.org', '!gate.example.org')).toBe(false);
    // Patterns are compared in lower case, as ssh does.
    expect(matchHostPatternList('gate.example.org', 'GATE.Example.ORG')).toBe(true);
  });

  it('names non-22 ports in brackets', () => {
    expect(knownHostsName('Gate.Example.org', 22)).toBe('gate.example.org');
    expect(knownHostsName('127.0.0.1', 2222)).toBe('[127.0.0.1]:2222');
  });
});

describe('fingerprints and blobs', () => {
  it('reads the key type from the blob', () => {
    expect(keyTypeOfBlob(fakeKey())).toBe('ssh-ed25519');
    expect(keyTypeOfBlob(Buffer.from([0, 0, 0, 9, 1]))).toBeNull();
  });
  it('prints SHA256 without padding', () => {
    const fp = fingerprintSha256(fakeKey());
    expect(fp).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });
});

describe('checkHostKeyText', () => {
  const key = fakeKey();
  const other = fakeKey();
  const rsa = fakeKey('ssh-rsa', 64);

  it('finds a plain entry among several hosts and comments', () => {
    const text = `# comment\n\nalpha,gate.example.org ${'ssh-ed25519'} ${b64(key)} a comment\nbeta ssh-ed25519 ${b64(other)}\n`;
    expect(checkHostKeyText(text, 'gate.example.org', 22, 'ssh-ed25519', key)).toEqual({ status: 'match' });
    expect(checkHostKeyText(text, 'nowhere', 22, 'ssh-ed25519', key)).toEqual({ status: 'unknown' });
  });

  it('keeps port 22 and other ports apart', () => {
    const text = `gate ssh-ed25519 ${b64(key)}\n[gate]:2222 ssh-ed25519 ${b64(other)}\n`;
    expect(checkHostKeyText(text, 'gate', 22, 'ssh-ed25519', key).status).toBe('match');
    expect(checkHostKeyText(text, 'gate', 2222, 'ssh-ed25519', other).status).toBe('match');
    expect(checkHostKeyText(text, 'gate', 2222, 'ssh-ed25519', key).status).toBe('changed');
    expect(checkHostKeyText(text, 'gate', 2223, 'ssh-ed25519', key).status).toBe('unknown');
  });

  it('reports changed with every known fingerprint, same type first', () => {
    const text = `gate ssh-rsa ${b64(rsa)}\ngate ssh-ed25519 ${b64(other)}\n`;
    const r = checkHostKeyText(text, 'gate', 22, 'ssh-ed25519', key);
    expect(r).toEqual({
      status: 'changed',
      expected: [
        { type: 'ssh-ed25519', fingerprint: fingerprintSha256(other) },
        { type: 'ssh-rsa', fingerprint: fingerprintSha256(rsa) },
      ],
    });
  });

  it('treats keys of only other types as changed (the host is known)', () => {
    const r = checkHostKeyText(`gate ssh-rsa ${b64(rsa)}\n`, 'gate', 22, 'ssh-ed25519', key);
    expect(r.status).toBe('changed');
  });

  it('matches hashed entries', () => {
    const salt = randomBytes(20);
    const text = `${hashHostName('[gate]:2222', salt)} ssh-ed25519 ${b64(key)}\n`;
    expect(checkHostKeyText(text, 'gate', 2222, 'ssh-ed25519', key).status).toBe('match');
    expect(checkHostKeyText(text, 'gate', 22, 'ssh-ed25519', key).status).toBe('unknown');
  });

  it('refuses a revoked key even when another line trusts it', () => {
    const text = `gate ssh-ed25519 ${b64(key)}\n@revoked * ssh-ed25519 ${b64(key)}\n`;
    expect(checkHostKeyText(text, 'gate', 22, 'ssh-ed25519', key)).toEqual({ status: 'revoked' });
    expect(checkHostKeyText(text, 'gate', 22, 'ssh-ed25519', other).status).toBe('changed');
  });

  it('ignores @cert-authority lines, unknown markers and corrupt lines', () => {
    const text = [
      `@cert-authority *.example.org ssh-ed25519 ${b64(key)}`,
      `@bogus gate.example.org ssh-ed25519 ${b64(key)}`,
      `gate.example.org ssh-rsa ${b64(key)}`, // type field disagrees with the blob
      `gate.example.org ssh-ed25519 not*base64`,
      `gate.example.org`,
    ].join('\n');
    expect(parseKnownHosts(text)).toHaveLength(1);
    expect(checkHostKeyText(text, 'gate.example.org', 22, 'ssh-ed25519', key).status).toBe('unknown');
  });

  it('says which @cert-authority line vouches for a host whose plain key it does not know', () => {
    const text = [`other.example.org ssh-ed25519 ${b64(other)}`, `@cert-authority *.example.org,!old.example.org ssh-ed25519 ${b64(other)}`].join('\n');
    expect(checkHostKeyText(text, 'gate.example.org', 22, 'ssh-ed25519', key)).toEqual({ status: 'unknown', certAuthorityLine: 2 });
    expect(checkHostKeyText(text, 'old.example.org', 22, 'ssh-ed25519', key)).toEqual({ status: 'unknown' });
    // A plain line for the host still decides: the key changed, whatever a CA vouches for.
    const pinned = `${text}\ngate.example.org ssh-ed25519 ${b64(other)}`;
    expect(checkHostKeyText(pinned, 'gate.example.org', 22, 'ssh-ed25519', key).status).toBe('changed');
    // Across files: the one with the CA line is named.
    const files = [
      { file: '/home/me/.ssh/known_hosts', text: '' },
      { file: '/etc/ssh/ssh_known_hosts', text },
    ];
    expect(checkHostKeyFiles(files, 'gate.example.org', 22, 'ssh-ed25519', key)).toEqual({ file: '/etc/ssh/ssh_known_hosts', status: 'unknown', certAuthorityLine: 2 });
  });

  it('honours negation in the host field', () => {
    const text = `*.example.org,!gate.example.org ssh-ed25519 ${b64(key)}\n`;
    expect(checkHostKeyText(text, 'gate.example.org', 22, 'ssh-ed25519', key).status).toBe('unknown');
    expect(checkHostKeyText(text, 'node.example.org', 22, 'ssh-ed25519', key).status).toBe('match');
  });

  it('tolerates CRLF line ends and tabs', () => {
    const text = `gate\tssh-ed25519\t${b64(key)}\r\n`;
    expect(checkHostKeyText(text, 'gate', 22, 'ssh-ed25519', key).status).toBe('match');
  });
});

describe('files', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'roamlab-kh-'));
  });
  afterAll(async () => {
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('reads the system file too, as ssh does: a match anywhere is trusted, revoked anywhere refused, else the file that knows other keys is named', async () => {
    const mine = path.join(dir, 'user_known_hosts');
    const system = path.join(dir, 'ssh_known_hosts');
    const good = fakeKey();
    const other = fakeKey();
    await fsp.writeFile(mine, '');
    await fsp.writeFile(system, `gate.example.org ${formatKnownHostsLine('gate.example.org', 22, 'ssh-ed25519', good).split(' ').slice(1).join(' ')}\n`);
    const files = [mine, path.join(dir, 'absent'), system];
    // Read afresh each time: the files change below, and a connect reads them once.
    const check = async (host: string, key: Buffer) => checkHostKeyFiles(await readKnownHostsFiles(files), host, 22, 'ssh-ed25519', key);
    expect(await check('gate.example.org', good)).toEqual({ status: 'match', file: system });
    expect(await check('gate.example.org', other)).toMatchObject({ status: 'changed', file: system, expected: [{ fingerprint: fingerprintSha256(good) }] });
    expect(await check('other.example.org', good)).toEqual({ status: 'unknown' });
    expect(knownKeyTypes(await readKnownHostsFiles(files), 'gate.example.org', 22)).toEqual(['ssh-ed25519']);
    // The person's own file knows another key: the system's match still counts (ssh: HOST_OK).
    await fsp.writeFile(mine, formatKnownHostsLine('gate.example.org', 22, 'ssh-ed25519', other) + '\n');
    expect((await check('gate.example.org', good)).status).toBe('match');
    // Revoked in the system file beats a match in the person's own.
    await fsp.appendFile(system, `@revoked * ssh-ed25519 ${b64(other)}\n`);
    expect(await check('gate.example.org', other)).toEqual({ status: 'revoked', file: system });
  });

  it('knows where OpenSSH keeps the system-wide file', () => {
    expect(systemKnownHostsFiles('linux')).toEqual(['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2']);
    expect(systemKnownHostsFiles('darwin')).toEqual(['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2']);
    expect(systemKnownHostsFiles('win32')[0]).toMatch(/ssh\\ssh_known_hosts$/);
  });

  it('treats a missing file as knowing no hosts', async () => {
    expect(await checkHostKey(path.join(dir, 'nope'), 'gate', 22, 'ssh-ed25519', fakeKey())).toEqual({ status: 'unknown' });
  });

  it('creates folder 0700 and file 0600, appends one line each time', async () => {
    const file = path.join(dir, 'new', '.ssh', 'known_hosts');
    const k1 = fakeKey();
    const k2 = fakeKey();
    await appendHostKey(file, 'gate', 22, 'ssh-ed25519', k1);
    await appendHostKey(file, '127.0.0.1', 2222, 'ssh-ed25519', k2);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    expect(readFileSync(file, 'utf8')).toBe(
      `${formatKnownHostsLine('gate', 22, 'ssh-ed25519', k1)}\n[127.0.0.1]:2222 ssh-ed25519 ${b64(k2)}\n`,
    );
    expect((await checkHostKey(file, '127.0.0.1', 2222, 'ssh-ed25519', k2)).status).toBe('match');
    expect(knownKeyTypes(await readKnownHostsFiles([file]), 'gate', 22)).toEqual(['ssh-ed25519']);
  });

  it('adds a newline before appending to a file that lacks one', async () => {
    const file = path.join(dir, 'no-newline');
    await fsp.writeFile(file, '# last line without newline');
    const k = fakeKey();
    await appendHostKey(file, 'gate', 22, 'ssh-ed25519', k);
    expect(readFileSync(file, 'utf8')).toBe(`# last line without newline\ngate ssh-ed25519 ${b64(k)}\n`);
  });
});

describe('interop with OpenSSH ssh-keygen', () => {
  let dir: string;
  const keys: { type: string; blob: Buffer; pub: string }[] = [];

  beforeAll(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'roamlab-kh-ssh-'));
    for (const [t, extra] of [
      ['ed25519', []],
      ['ecdsa', ['-b', '256']],
      ['rsa', ['-b', '2048']],
    ] as const) {
      const f = path.join(dir, `key_${t}`);
      execFileSync('ssh-keygen', ['-q', '-t', t, ...extra, '-N', '', '-f', f]);
      const pub = readFileSync(`${f}.pub`, 'utf8').trim();
      const [type, data] = pub.split(' ');
      keys.push({ type: type!, blob: Buffer.from(data!, 'base64'), pub: `${f}.pub` });
    }
  });
  afterAll(async () => {
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('prints the same fingerprints as ssh-keygen -lf', () => {
    for (const k of keys) {
      const out = execFileSync('ssh-keygen', ['-E', 'sha256', '-lf', k.pub], { encoding: 'utf8' });
      expect(out.split(' ')[1]).toBe(fingerprintSha256(k.blob));
    }
  });

  it('finds entries hashed by ssh-keygen -H', async () => {
    const file = path.join(dir, 'hashed_known_hosts');
    const [ed, ecdsa, rsa] = keys;
    await fsp.writeFile(
      file,
      [
        `gate.example.org ${ed!.type} ${b64(ed!.blob)}`,
        `[127.0.0.1]:2222 ${ecdsa!.type} ${b64(ecdsa!.blob)}`,
        `other.example.org,10.1.2.3 ${rsa!.type} ${b64(rsa!.blob)}`,
        '',
      ].join('\n'),
    );
    execFileSync('ssh-keygen', ['-q', '-H', '-f', file], { stdio: 'ignore' });
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain('gate.example.org');
    expect(text.match(/^\|1\|/gm)).toHaveLength(4);

    expect((await checkHostKey(file, 'gate.example.org', 22, ed!.type, ed!.blob)).status).toBe('match');
    expect((await checkHostKey(file, 'GATE.example.org', 22, ed!.type, ed!.blob)).status).toBe('match');
    expect((await checkHostKey(file, '127.0.0.1', 2222, ecdsa!.type, ecdsa!.blob)).status).toBe('match');
    expect((await checkHostKey(file, '10.1.2.3', 22, rsa!.type, rsa!.blob)).status).toBe('match');
    expect((await checkHostKey(file, 'other.example.org', 22, rsa!.type, rsa!.blob)).status).toBe('match');
    expect((await checkHostKey(file, '127.0.0.1', 22, ecdsa!.type, ecdsa!.blob)).status).toBe('unknown');
    const changed = await checkHostKey(file, 'gate.example.org', 22, ecdsa!.type, ecdsa!.blob);
    expect(changed).toEqual({ status: 'changed', expected: [{ type: ed!.type, fingerprint: fingerprintSha256(ed!.blob) }] });
  });

  it('writes lines ssh-keygen -F finds, for port 22 and other ports', async () => {
    const file = path.join(dir, 'appended_known_hosts');
    const [ed, ecdsa] = keys;
    await appendHostKey(file, '127.0.0.1', 2222, ed!.type, ed!.blob);
    await appendHostKey(file, 'gate.example.org', 22, ecdsa!.type, ecdsa!.blob);
    const found = execFileSync('ssh-keygen', ['-F', '[127.0.0.1]:2222', '-f', file], { encoding: 'utf8' });
    expect(found).toContain(`[127.0.0.1]:2222 ${ed!.type} ${b64(ed!.blob)}`);
    const found22 = execFileSync('ssh-keygen', ['-F', 'gate.example.org', '-f', file], { encoding: 'utf8' });
    expect(found22).toContain(`gate.example.org ${ecdsa!.type} ${b64(ecdsa!.blob)}`);
    // And the file still reads back after ssh-keygen hashes it in place.
    execFileSync('ssh-keygen', ['-q', '-H', '-f', file], { stdio: 'ignore' });
    expect((await checkHostKey(file, '127.0.0.1', 2222, ed!.type, ed!.blob)).status).toBe('match');
  });

  it('agrees with ssh-keygen -R about which line belongs to the host', async () => {
    const file = path.join(dir, 'remove_known_hosts');
    const [ed, ecdsa] = keys;
    await appendHostKey(file, '127.0.0.1', 2222, ed!.type, ed!.blob);
    await appendHostKey(file, '127.0.0.1', 2223, ecdsa!.type, ecdsa!.blob);
    execFileSync('ssh-keygen', ['-R', '[127.0.0.1]:2222', '-f', file], { stdio: 'ignore' });
    expect((await checkHostKey(file, '127.0.0.1', 2222, ed!.type, ed!.blob)).status).toBe('unknown');
    expect((await checkHostKey(file, '127.0.0.1', 2223, ecdsa!.type, ecdsa!.blob)).status).toBe('match');
  });
});

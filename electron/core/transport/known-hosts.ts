import { createHash, createHmac } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';

/**
 * OpenSSH known_hosts, read and appended exactly as `ssh` does it (sshd(8) "SSH_KNOWN_HOSTS FILE
 * FORMAT"): plain and hashed host fields, `[host]:port` names, wildcards and negation, and the
 * `@revoked` / `@cert-authority` markers. Small on purpose: no npm library does this faithfully.
 */

export type HostKeyCheck =
  | { status: 'match' }
  /**
   * certAuthorityLine: a `@cert-authority` line for this host (1-based). OpenSSH would accept
   * the host's certificate signed by that key; Roamlab's SSH library does not negotiate host
   * certificates, so the host's plain key arrives unknown, and the person is told why.
   */
  | { status: 'unknown'; certAuthorityLine?: number }
  | { status: 'changed'; expected: { type: string; fingerprint: string }[] }
  | { status: 'revoked' };

export interface KnownHostEntry {
  /** 1-based line number in the file, for messages. */
  line: number;
  marker: 'revoked' | 'cert-authority' | null;
  /** The host field as written: a comma-separated pattern list or one `|1|salt|hash`. */
  hosts: string;
  keyType: string;
  keyBlob: Buffer;
}

/** The name OpenSSH looks up: `host` on port 22, `[host]:port` otherwise (lower-cased). */
export function knownHostsName(host: string, port: number): string {
  const h = host.toLowerCase();
  return port === 22 ? h : `[${h}]:${port}`;
}

/** `SHA256:<base64 without padding>` of the raw key blob, as `ssh-keygen -lf` prints it. */
export function fingerprintSha256(keyBlob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '');
}

/** The key type named inside a public key blob (its first SSH string), or null if malformed. */
export function keyTypeOfBlob(keyBlob: Buffer): string | null {
  if (keyBlob.length < 4) return null;
  const len = keyBlob.readUInt32BE(0);
  if (len === 0 || len > 64 || 4 + len > keyBlob.length) return null;
  const type = keyBlob.subarray(4, 4 + len).toString('latin1');
  return /^[\x21-\x7e]+$/.test(type) ? type : null;
}

/** Parse a known_hosts text. Lines OpenSSH would skip (comments, blank, malformed) are skipped. */
export function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.replace(/\r$/, '').trim();
    if (raw === '' || raw.startsWith('#')) continue;
    const fields = raw.split(/[ \t]+/);
    let marker: KnownHostEntry['marker'] = null;
    if (fields[0]!.startsWith('@')) {
      const m = fields.shift()!;
      if (m === '@revoked') marker = 'revoked';
      else if (m === '@cert-authority') marker = 'cert-authority';
      else continue; // unknown marker: OpenSSH ignores the line
    }
    const [hosts, keyType, b64] = fields;
    if (!hosts || !keyType || !b64) continue;
    if (!/^[A-Za-z0-9+/]+=*$/.test(b64)) continue;
    const keyBlob = Buffer.from(b64, 'base64');
    // The blob names its own type; a line whose field disagrees is corrupt and not trusted.
    if (keyTypeOfBlob(keyBlob) !== keyType) continue;
    entries.push({ line: i + 1, marker, hosts, keyType, keyBlob });
  }
  return entries;
}

/** OpenSSH's match_pattern: `*` any run, `?` any one character; the whole name must match. */
export function matchPattern(name: string, pattern: string): boolean {
  // Iterative glob with backtracking on the last '*': linear-ish, no regex injection.
  let n = 0;
  let p = 0;
  let star = -1;
  let mark = 0;
  while (n < name.length) {
    if (p < pattern.length && (pattern[p] === '?' || pattern[p] === name[n])) {
      n++;
      p++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      mark = n;
    } else if (star !== -1) {
      p = star + 1;
      n = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

/**
 * OpenSSH's match_hostname over a comma-separated list: a matching negated pattern (`!pat`)
 * excludes the host whatever else matches; otherwise any positive match is a match.
 */
export function matchHostPatternList(name: string, list: string): boolean {
  let positive = false;
  for (const item of list.split(',')) {
    if (item === '') continue;
    const negated = item.startsWith('!');
    const pattern = (negated ? item.slice(1) : item).toLowerCase();
    if (matchPattern(name, pattern)) {
      if (negated) return false;
      positive = true;
    }
  }
  return positive;
}

/** `|1|base64(salt)|base64(HMAC-SHA1(salt, name))`, as `ssh-keygen -H` writes it. */
export function matchHashedHost(name: string, field: string): boolean {
  const parts = field.split('|');
  if (parts.length !== 4 || parts[0] !== '' || parts[1] !== '1') return false;
  const salt = Buffer.from(parts[2]!, 'base64');
  const want = Buffer.from(parts[3]!, 'base64');
  if (salt.length !== 20 || want.length !== 20) return false;
  const got = createHmac('sha1', salt).update(name).digest();
  return got.equals(want);
}

export function hashHostName(name: string, salt: Buffer): string {
  const mac = createHmac('sha1', salt).update(name).digest('base64');
  return `|1|${salt.toString('base64')}|${mac}`;
}

export function entryMatchesHost(entry: KnownHostEntry, host: string, port: number): boolean {
  const name = knownHostsName(host, port);
  if (entry.hosts.startsWith('|')) return matchHashedHost(name, entry.hosts);
  return matchHostPatternList(name, entry.hosts);
}

/** The decision over one already-read known_hosts text (checkHostKeyFiles weighs several). */
export function checkHostKeyText(
  text: string,
  host: string,
  port: number,
  keyType: string,
  keyBlob: Buffer,
): HostKeyCheck {
  const forHost = parseKnownHosts(text).filter((e) => entryMatchesHost(e, host, port));
  // A revoked key is refused even if another line also trusts it.
  if (forHost.some((e) => e.marker === 'revoked' && e.keyBlob.equals(keyBlob))) return { status: 'revoked' };
  // @cert-authority lines vouch for certificates, which we do not accept as host keys.
  const plain = forHost.filter((e) => e.marker === null);
  if (plain.some((e) => e.keyType === keyType && e.keyBlob.equals(keyBlob))) return { status: 'match' };
  if (plain.length === 0) {
    const ca = forHost.find((e) => e.marker === 'cert-authority');
    return ca ? { status: 'unknown', certAuthorityLine: ca.line } : { status: 'unknown' };
  }
  // Same-type keys first: they are the ones the person is most likely to compare against.
  const ordered = [...plain.filter((e) => e.keyType === keyType), ...plain.filter((e) => e.keyType !== keyType)];
  const seen = new Set<string>();
  const expected: { type: string; fingerprint: string }[] = [];
  for (const e of ordered) {
    const fingerprint = fingerprintSha256(e.keyBlob);
    if (seen.has(fingerprint)) continue;
    seen.add(fingerprint);
    expected.push({ type: e.keyType, fingerprint });
  }
  return { status: 'changed', expected };
}

async function readIfExists(file: string): Promise<string> {
  try {
    return await fsp.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw e;
  }
}

/** A known_hosts file as read once per connect: its path (for messages) and its text ('' if absent; a missing file knows no hosts). */
export interface KnownHostsText {
  file: string;
  text: string;
}

/** Read every file ssh reads, once: the person's own, then the system's (GlobalKnownHostsFile). */
export function readKnownHostsFiles(files: readonly string[]): Promise<KnownHostsText[]> {
  return Promise.all(files.map(async (file) => ({ file, text: await readIfExists(file) })));
}

/**
 * Check against every file ssh reads (the system's is where managed machines get their
 * facility's host keys). A key revoked in any of them is refused, a key any of them holds is
 * trusted, and otherwise the first file that knows other keys for the host says "changed" and is
 * named, as ssh names the file and line it warns about.
 */
export function checkHostKeyFiles(
  read: readonly KnownHostsText[],
  host: string,
  port: number,
  keyType: string,
  keyBlob: Buffer,
): HostKeyCheck & { file?: string } {
  const results = read.map(({ file, text }) => ({ file, ...checkHostKeyText(text, host, port, keyType, keyBlob) }));
  return (
    results.find((r) => r.status === 'revoked') ??
    results.find((r) => r.status === 'match') ??
    results.find((r) => r.status === 'changed') ??
    results.find((r) => r.status === 'unknown' && r.certAuthorityLine !== undefined) ?? { status: 'unknown' }
  );
}

/** Key types the files already hold for this host, so the client can ask for those first (as ssh does). */
export function knownKeyTypes(read: readonly KnownHostsText[], host: string, port: number): string[] {
  const types = read.flatMap(({ text }) =>
    parseKnownHosts(text)
      .filter((e) => e.marker === null && entryMatchesHost(e, host, port))
      .map((e) => e.keyType),
  );
  return [...new Set(types)];
}

/** Where OpenSSH's GlobalKnownHostsFile is by default on this platform. */
export function systemKnownHostsFiles(platform: NodeJS.Platform = process.platform): string[] {
  if (platform === 'win32') return [path.win32.join(process.env.ProgramData ?? 'C:\\ProgramData', 'ssh', 'ssh_known_hosts')];
  return ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'];
}

/** One known_hosts line in OpenSSH's own format (plain host name, as ssh writes with HashKnownHosts no). */
export function formatKnownHostsLine(host: string, port: number, keyType: string, keyBlob: Buffer): string {
  return `${knownHostsName(host, port)} ${keyType} ${keyBlob.toString('base64')}`;
}

/**
 * Append one line for this host. The folder is made 0700 and the file 0600 when missing; an
 * 'a'-mode write of one short line is how ssh itself adds keys, so concurrent appends do not tear.
 */
export async function appendHostKey(
  file: string,
  host: string,
  port: number,
  keyType: string,
  keyBlob: Buffer,
): Promise<void> {
  await fsp.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const existing = await readIfExists(file);
  const sep = existing.length > 0 && !existing.endsWith('\n') ? '\n' : '';
  const fh = await fsp.open(file, 'a', 0o600);
  try {
    await fh.write(sep + formatKnownHostsLine(host, port, keyType, keyBlob) + '\n');
    await fh.sync();
  } finally {
    await fh.close();
  }
}

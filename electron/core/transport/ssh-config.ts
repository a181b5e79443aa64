import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import { expandHome } from '../paths';

/**
 * What the person's own OpenSSH configuration (~/.ssh/config and the system's ssh_config) says
 * about a host, for what a facility profile leaves open: the account on the gateway (`User`),
 * the key (`IdentityFile`) and the jump hosts on the way (`ProxyJump`, each one's own `HostName`,
 * `Port` and `User` too). Someone who can already `ssh gate.example.org` then needs
 * nothing more in Roamlab, and a facility can publish one profile for all its users.
 *
 * OpenSSH is asked, not imitated: `ssh -G HOST` prints the configuration ssh would use, with
 * every Include, Match and wildcard Host applied as ssh applies them. It also fills in ssh's
 * defaults (the local login name, ~/.ssh/id_rsa…), so it runs a second time without any
 * configuration file (`-F /dev/null`), and only what differs counts as configured. A `User`
 * the configuration sets to the local login name is therefore not noticed — nor needed: the
 * default then is that name anyway. No ssh installed, or a configuration ssh itself refuses:
 * nothing is configured (and the log says why).
 */
export interface SshConfigAnswer {
  /** `User` for the host, when the configuration sets one. */
  user?: string;
  /** `IdentityFile`s for the host, in ssh's order, when the configuration sets any (`~` and %-tokens as written). */
  identityFiles: string[];
  /** `HostName`, when the configuration gives the host another name or address to connect to. */
  hostName?: string;
  /** `Port`, when the configuration sets one other than 22. */
  port?: number;
  /** `ProxyJump`, as written, when the configuration sets one (`none` counts as none). */
  proxyJump?: string;
  /** `ProxyCommand`, when the configuration sets one (Roamlab does not run it; it says so). */
  proxyCommand?: string;
  /** Why nothing could be read (ssh missing, the configuration refused), for the log. */
  problem?: string;
}

export interface SshConfigOptions {
  /** The user configuration file, as `ssh -F` takes it. Default: ssh's own (~/.ssh/config); `ROAMLAB_SSH_CONFIG` sets it too. */
  configFile?: string;
  /** The ssh client to ask. Default `ssh` on PATH. */
  sshBinary?: string;
  timeoutMs?: number;
}

/** `ssh -G` output: one `keyword value` per line, keywords lower-case. */
function parseG(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of text.split(/\r?\n/)) {
    const m = /^(\S+)\s+(.*)$/.exec(line.trim());
    if (!m) continue;
    const key = m[1]!.toLowerCase();
    out.set(key, [...(out.get(key) ?? []), m[2]!]);
  }
  return out;
}

function runG(bin: string, args: string[], timeoutMs: number): Promise<Map<string, string[]>> {
  return new Promise((resolve, reject) => {
    execFile(bin, ['-G', ...args], { timeout: timeoutMs, windowsHide: true, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) {
        const code = (err as NodeJS.ErrnoException).code;
        const said = String(stderr).split(/\r?\n/).find((l) => l.trim() && !/^Pseudo-terminal/.test(l));
        reject(new Error(code === 'ENOENT' ? `no ${bin} on PATH` : (said?.trim() ?? err.message)));
      } else resolve(parseG(String(stdout)));
    });
  });
}

export async function sshConfigFor(host: string, o: SshConfigOptions = {}): Promise<SshConfigAnswer> {
  const bin = o.sshBinary ?? 'ssh';
  const timeoutMs = o.timeoutMs ?? 5000;
  const configFile = o.configFile ?? (process.env.ROAMLAB_SSH_CONFIG || undefined);
  // `--` ends options: a host that starts with '-' (a profile can't name one, but still) is not an option.
  const asConfigured = [...(configFile ? ['-F', configFile] : []), '--', host];
  const bare = ['-F', os.devNull, '--', host];
  try {
    const [configured, defaults] = await Promise.all([runG(bin, asConfigured, timeoutMs), runG(bin, bare, timeoutMs)]);
    const one = (m: Map<string, string[]>, k: string) => m.get(k)?.[0];
    const user = one(configured, 'user') !== one(defaults, 'user') ? one(configured, 'user') : undefined;
    const files = configured.get('identityfile') ?? [];
    const defaultFiles = defaults.get('identityfile') ?? [];
    const same = files.length === defaultFiles.length && files.every((f, i) => f === defaultFiles[i]);
    const answer: SshConfigAnswer = { user, identityFiles: same ? [] : files };
    const hostName = one(configured, 'hostname');
    if (hostName && hostName !== one(defaults, 'hostname')) answer.hostName = hostName;
    const port = Number(one(configured, 'port'));
    if (Number.isInteger(port) && port > 0 && String(port) !== one(defaults, 'port')) answer.port = port;
    const jump = one(configured, 'proxyjump');
    if (jump && jump.toLowerCase() !== 'none') answer.proxyJump = jump;
    const command = one(configured, 'proxycommand');
    if (command && command.toLowerCase() !== 'none') answer.proxyCommand = command;
    return answer;
  } catch (e) {
    return { identityFiles: [], problem: `ssh -G ${host}: ${(e as Error).message}` };
  }
}

/**
 * An IdentityFile as ssh reads it: `~` and the tokens ssh expands in it (%d home, %u local user,
 * %r remote user, %h host, %l local host name, %% a percent sign). Undefined for a token it
 * cannot know here.
 */
export function expandIdentityFile(file: string, t: { user: string; host: string }): string | undefined {
  const home = os.homedir();
  let unknown = false;
  const expanded = file.replace(/%(.)/g, (_, c: string) => {
    switch (c) {
      case '%':
        return '%';
      case 'd':
        return home;
      case 'u':
        return os.userInfo().username;
      case 'r':
        return t.user;
      case 'h':
        return t.host;
      case 'l':
        return os.hostname().split('.')[0]!;
      default:
        unknown = true;
        return '';
    }
  });
  return unknown ? undefined : expandHome(expanded, home);
}

/** The first of the configured identity files that exists (as the key or its `.pub`: an agent's key), else the first. */
export async function pickIdentityFile(files: string[], t: { user: string; host: string }): Promise<string | undefined> {
  const known = files.map((f) => expandIdentityFile(f, t)).filter((f): f is string => f !== undefined);
  for (const f of known) {
    for (const candidate of [f, `${f}.pub`]) {
      if (await fs.access(candidate).then(() => true, () => false)) return f;
    }
  }
  return known[0];
}

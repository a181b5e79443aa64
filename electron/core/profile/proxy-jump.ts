/**
 * The profile's `ssh.proxyJump`, read as OpenSSH reads its ProxyJump option (`ssh -J`): one or
 * more jump hosts, comma-separated, tried in order, each `[user@]host[:port]` or
 * `ssh://[user@]host[:port]`; an IPv6 address goes in brackets (`[2001:db8::1]:2222`).
 *
 * A jump host without a user gets the gateway's (`ssh.user`): at a facility it is one account on
 * both. (OpenSSH would take the local login name or ssh_config's; a profile has no ssh_config.)
 */

export interface JumpHost {
  host: string;
  port: number;
  /** undefined: the gateway's user */
  user?: string;
}

const HOST = /^[A-Za-z0-9._-]+$/;
const IPV6 = /^[0-9A-Fa-f:.]+(%[A-Za-z0-9._-]+)?$/;

/** One hop as written: its port undefined when none is written. */
export interface JumpSpec {
  host: string;
  port?: number;
  user?: string;
}

/** One hop; a string saying what is wrong with it, for the profile error. */
function parseHop(spec: string): JumpSpec | string {
  let s = spec.trim();
  if (!s) return 'an empty entry between commas';
  if (s.startsWith('ssh://')) s = s.slice('ssh://'.length).replace(/\/$/, '');
  if (s.includes('/')) return `"${spec}" is not [user@]host[:port] (only ssh:// URLs are taken)`;
  let user: string | undefined;
  const at = s.lastIndexOf('@');
  if (at >= 0) {
    user = s.slice(0, at);
    s = s.slice(at + 1);
    if (!user || /[\s:/]/.test(user)) return `"${spec}" has no valid user before "@"`;
  }
  let host: string;
  let portText: string | undefined;
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    if (close < 0) return `"${spec}" opens "[" for an IPv6 address but does not close it`;
    host = s.slice(1, close);
    const rest = s.slice(close + 1);
    if (rest && !rest.startsWith(':')) return `"${spec}" has "${rest}" after the address`;
    portText = rest ? rest.slice(1) : undefined;
    if (!IPV6.test(host)) return `"${spec}" has no IPv6 address in its brackets`;
  } else {
    const parts = s.split(':');
    if (parts.length > 2) return `"${spec}" looks like an IPv6 address: put it in brackets, [${s}]`;
    host = parts[0]!;
    portText = parts[1];
    if (!HOST.test(host)) return `"${spec}" is not [user@]host[:port]`;
  }
  const hop: JumpSpec = { host };
  if (portText !== undefined) {
    const port = Number(portText);
    if (!/^\d+$/.test(portText) || port < 1 || port > 65535) return `"${spec}" has no valid port after ":" (1-65535)`;
    hop.port = port;
  }
  if (user !== undefined) hop.user = user;
  return hop;
}

/**
 * The hops of a ProxyJump value as written, in order (a port only where one is written); `none`,
 * as OpenSSH takes it, is no hops. Throws an Error saying what is wrong.
 */
export function parseProxyJumpSpecs(value: string): JumpSpec[] {
  if (value.trim().toLowerCase() === 'none') return [];
  const hops: JumpSpec[] = [];
  for (const spec of value.split(',')) {
    const hop = parseHop(spec);
    if (typeof hop === 'string') throw new Error(hop);
    hops.push(hop);
  }
  return hops;
}

/** The hops of a ProxyJump value, in order, port 22 where none is written; throws an Error saying what is wrong. */
export function parseProxyJump(value: string): JumpHost[] {
  return parseProxyJumpSpecs(value).map(({ host, port, user }) => (user === undefined ? { host, port: port ?? 22 } : { host, port: port ?? 22, user }));
}

/** `user@host:port` as a person writes it (the port only when it is not 22). */
export function describeHop(h: { host: string; port: number; user?: string }): string {
  const host = h.host.includes(':') ? `[${h.host}]` : h.host;
  return `${h.user ? `${h.user}@` : ''}${host}${h.port === 22 ? '' : `:${h.port}`}`;
}

/** Every SSH server on the way to the hub, in order: the jump hosts, then the gateway. */
export function sshRoute(ssh: { host: string; port: number; proxyJump?: string | undefined }): { host: string; port: number }[] {
  const jumps = ssh.proxyJump ? parseProxyJump(ssh.proxyJump).map(({ host, port }) => ({ host, port })) : [];
  return [...jumps, { host: ssh.host, port: ssh.port }];
}

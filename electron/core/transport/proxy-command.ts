import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import os from 'node:os';
import { Duplex } from 'node:stream';
import { RoamlabError } from '../errors';

/**
 * The gateway reached as the person's ssh configuration reaches it: through its `ProxyCommand`
 * (`ssh -W %h:%p bastion` in older guides, a SOCKS or HTTP proxy through `nc`, a vendor's
 * access tool). As ssh does, the command runs through the shell (`$SHELL -c "exec …"`, else
 * /bin/sh; cmd.exe on Windows) with its tokens expanded, and the SSH connection runs over its
 * stdin and stdout; what it writes to stderr is kept for the error when it fails. Only a
 * command from the person's own ssh configuration is run, never one from a facility profile.
 */

export interface ProxyCommandTarget {
  host: string;
  port: number;
  user: string;
}

/** The tokens ssh_config(5) expands in ProxyCommand that can be known here; undefined and the token for another. */
export function expandProxyCommand(command: string, t: ProxyCommandTarget): { command: string } | { unknown: string } {
  let unknown: string | undefined;
  const expanded = command.replace(/%(.)/g, (all, c: string) => {
    switch (c) {
      case '%':
        return '%';
      case 'h':
      case 'n':
        return t.host;
      case 'p':
        return String(t.port);
      case 'r':
        return t.user;
      case 'u':
        return os.userInfo().username;
      case 'd':
        return os.homedir();
      case 'l':
        return os.hostname().split('.')[0]!;
      case 'L':
        return os.hostname();
      default:
        unknown ??= all;
        return all;
    }
  });
  return unknown === undefined ? { command: expanded } : { unknown };
}

/** A running ProxyCommand as the byte stream an SSH connection runs over. */
export class ProxyCommandStream extends Duplex {
  private stderrTail = '';
  /** Set when the command has exited: its exit code, or the signal that ended it. */
  exited?: { code: number | null; signal: NodeJS.Signals | null };
  /** The command closed its output: it is done, or about to exit. */
  outputEnded = false;
  /** It wrote something to its output (the SSH server's banner, normally). */
  hadOutput = false;
  /** Resolves at its first output. */
  readonly firstOutput: Promise<void>;
  readonly startedAt = performance.now();
  private sawOutput!: () => void;

  constructor(private readonly child: ChildProcessWithoutNullStreams) {
    super({ allowHalfOpen: false });
    this.firstOutput = new Promise((resolve) => (this.sawOutput = resolve));
    child.stdout.on('data', (chunk: Buffer) => {
      if (!this.hadOutput) {
        this.hadOutput = true;
        this.sawOutput();
      }
      if (!this.push(chunk)) child.stdout.pause();
    });
    child.stdout.on('end', () => {
      this.outputEnded = true;
      this.push(null);
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => {
      this.stderrTail = (this.stderrTail + s).slice(-2000);
    });
    // A command that ends while we still write to it is no error of its own: 'exit' says what happened.
    child.stdin.on('error', () => undefined);
    child.on('exit', (code, signal) => {
      this.exited = { code, signal };
      this.outputEnded = true;
      if (!this.destroyed) this.destroy();
    });
  }

  /** Whether the command has exited by `ms` from now. */
  exitedWithin(ms: number): Promise<boolean> {
    if (this.exited) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      this.child.once('exit', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** The last non-empty line the command wrote to stderr. */
  get lastError(): string | undefined {
    return this.stderrTail.split(/\r?\n/).map((l) => l.trim()).filter(Boolean).at(-1);
  }

  override _read(): void {
    this.child.stdout.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.child.stdin.write(chunk)) cb();
    else this.child.stdin.once('drain', () => cb());
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.child.stdin.end(cb);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (this.exited === undefined) this.child.kill();
    cb(err);
  }
}

/**
 * Start `command` (as the ssh configuration writes it, tokens unexpanded) for `t`; resolves once
 * it runs. Refuses, saying why, when it uses a token Roamlab cannot expand or cannot be started.
 */
export function runProxyCommand(command: string, t: ProxyCommandTarget, signal?: AbortSignal): Promise<ProxyCommandStream> {
  const expanded = expandProxyCommand(command, t);
  if ('unknown' in expanded) {
    return Promise.reject(
      new RoamlabError(
        'ssh-unreachable',
        `Your ssh configuration reaches ${t.host} through a ProxyCommand that uses ${expanded.unknown}, which Roamlab does not fill in.`,
        `Name the jump host with a ProxyJump line for ${t.host} in ~/.ssh/config instead, or "proxyJump" under "ssh" in the profile.`,
        { host: t.host, port: t.port, proxyCommand: true },
      ),
    );
  }
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new RoamlabError('cancelled', `Connecting to ${t.host} was cancelled.`, 'Nothing to do.', { host: t.host, port: t.port }));
    const child =
      process.platform === 'win32'
        ? spawn(expanded.command, { shell: true, windowsHide: true, stdio: 'pipe' })
        : spawn(process.env.SHELL || '/bin/sh', ['-c', `exec ${expanded.command}`], { stdio: 'pipe' });
    const stream = new ProxyCommandStream(child);
    const onAbort = () => stream.destroy();
    signal?.addEventListener('abort', onAbort, { once: true });
    stream.once('close', () => signal?.removeEventListener('abort', onAbort));
    child.once('error', (err: NodeJS.ErrnoException) => {
      stream.destroy();
      reject(
        new RoamlabError(
          'ssh-unreachable',
          `The ProxyCommand your ssh configuration gives ${t.host} could not be started (${err.code ?? err.message}).`,
          `Check the ProxyCommand for ${t.host} in ~/.ssh/config: run it in a terminal (ssh -v ${t.host}) to see why.`,
          { host: t.host, port: t.port, proxyCommand: true, code: err.code ?? null },
          { cause: err },
        ),
      );
    });
    child.once('spawn', () => resolve(stream));
  });
}

/** The longest wait for a ProxyCommand's first byte: sshd's LoginGraceTime, for a person answering its questions. */
export const PROXY_COMMAND_FIRST_BYTE_MS = 120_000;

/**
 * The error for an SSH handshake that failed over a ProxyCommand that has exited: the command's
 * own words (its last stderr line) say more than "the connection closed". Only its program is
 * named: the rest of a command line may hold what belongs in no log (`sshpass -p …`).
 */
function proxyCommandFailed(stream: ProxyCommandStream, command: string, host: string, cause: unknown): RoamlabError | undefined {
  const exit = stream.exited;
  if (!exit) return undefined;
  const how = exit.signal ? `was ended by ${exit.signal}` : `exited with code ${exit.code}`;
  const said = stream.lastError;
  const program = command.trim().split(/\s+/)[0] ?? command;
  return new RoamlabError(
    'ssh-unreachable',
    `The ProxyCommand your ssh configuration gives ${host} (${program} …) ${how}${said ? `: ${said}` : ''}.`,
    `Check the network connection, and the ProxyCommand for ${host} in ~/.ssh/config (run ssh -v ${host} in a terminal to see it work or fail). A jump host can also be named with ProxyJump, or "proxyJump" under "ssh" in the profile.`,
    { host, proxyCommand: true, exitCode: exit.code, signal: exit.signal },
    { cause },
  );
}

/** The error for a ProxyCommand that ran but brought nothing from the gateway. */
function proxyCommandSilent(command: string, host: string, waitedMs: number, cause: unknown): RoamlabError {
  const program = command.trim().split(/\s+/)[0] ?? command;
  return new RoamlabError(
    'ssh-unreachable',
    `Nothing came from ${host} through the ProxyCommand your ssh configuration gives it (${program} …) in ${Math.round(waitedMs / 1000)} s.`,
    `Check the network connection, and the ProxyCommand for ${host} in ~/.ssh/config (run ssh -v ${host} in a terminal to see where it waits).`,
    { host, proxyCommand: true },
    { cause },
  );
}

/**
 * What the ProxyCommand had to do with a handshake that failed (`cause`), when anything: it ended
 * its output by itself (then its exit, a moment later, and its last words say why), or it never
 * brought a byte. One that brought the server's bytes and still runs did not fail (the server
 * refused the key, say); the caller ends it.
 */
export async function proxyCommandFault(stream: ProxyCommandStream, command: string, host: string, cause: unknown): Promise<RoamlabError | undefined> {
  if (cause instanceof RoamlabError && cause.kind === 'cancelled') return undefined;
  if (stream.outputEnded && (await stream.exitedWithin(1000))) return proxyCommandFailed(stream, command, host, cause);
  if (!stream.hadOutput) return proxyCommandSilent(command, host, performance.now() - stream.startedAt, cause);
  return undefined;
}

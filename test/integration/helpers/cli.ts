import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';

export const REPO = path.resolve(__dirname, '../../..');
const BIN = path.join(REPO, 'bin', 'roamlab.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A fresh ROAMLAB_HOME with the given profiles in its facilities folder. */
export function makeHome(profiles: object[] = []): string {
  const home = mkdtempSync(path.join(os.tmpdir(), 'roamlab-home-'));
  mkdirSync(path.join(home, 'facilities'), { recursive: true });
  for (const p of profiles) writeFileSync(path.join(home, 'facilities', `${(p as { id: string }).id}.json`), JSON.stringify(p, null, 2));
  return home;
}

/** Run the real `roamlab` command (the compiled CLI, as a user would) and collect its output. */
export function runCli(args: string[], env: NodeJS.ProcessEnv, stdin?: string, timeoutMs = 120_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    // detached: a session of its own, without a controlling terminal even when the tests run in
    // one, so the command never asks on the developer's terminal (runCliInTerminal gives it one).
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`roamlab ${args.join(' ')} did not finish in ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(stdin ?? '');
  });
}

/** One turn at the terminal: once the output since the last turn matches `expect`, do `then`, then type `send` (and Enter, unless `raw`). */
export interface TerminalTurn {
  expect: RegExp;
  send?: string;
  raw?: boolean;
  then?: () => Promise<unknown>;
}

/**
 * Run `roamlab` on a terminal of its own (a pty from util-linux's `script`) and answer its
 * questions as a person types them, turn by turn. Returns the exit code and everything the
 * terminal showed.
 */
export function runCliInTerminal(args: string[], env: NodeJS.ProcessEnv, dialogue: TerminalTurn[], timeoutMs = 120_000): Promise<{ code: number | null; output: string }> {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  // `exec`: the shell `script` runs the command with (dash, where SHELL is unset, as on CI) would
  // otherwise stay as node's parent in the terminal's process group, and die of the Ctrl-C a turn
  // types after node has handled it, so `script` would report 130 whatever node exited with.
  const command = `exec ${[process.execPath, BIN, ...args].map(quote).join(' ')}`;
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/script', ['-q', '-e', '-c', command, '/dev/null'], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    let output = '';
    let step = 0;
    /** Where the next expectation is looked for: after what the last answer was sent to. */
    let from = 0;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`roamlab ${args.join(' ')} did not finish in ${timeoutMs} ms; the terminal showed:\n${output}`));
    }, timeoutMs);
    let busy = false;
    const onOutput = (d: string) => {
      output += d;
      const next = dialogue[step];
      if (busy || !next || !next.expect.test(output.slice(from))) return;
      step++;
      from = output.length;
      busy = true;
      void (next.then ?? (async () => undefined))().then(
        () => {
          busy = false;
          if (next.send !== undefined) child.stdin.write(next.raw ? next.send : `${next.send}\r`);
          onOutput('');
        },
        (e: unknown) => {
          child.kill('SIGKILL');
          reject(e as Error);
        },
      );
    };
    child.stdout.setEncoding('utf8').on('data', onOutput);
    child.stderr.setEncoding('utf8').on('data', onOutput);
    child.on('close', (code) => {
      clearTimeout(timer);
      child.stdin.destroy();
      resolve({ code, output });
    });
  });
}

export interface JsonLine {
  event: string;
  name?: string;
  url?: string;
  [k: string]: unknown;
}

/** A long-running `roamlab start --json`: its JSON lines as they come. */
export class CliSession {
  readonly lines: JsonLine[] = [];
  stderr = '';
  private waiters: { pred: (l: JsonLine) => boolean; resolve: (l: JsonLine) => void }[] = [];
  readonly exited: Promise<number | null>;

  constructor(readonly child: ChildProcess) {
    readline.createInterface({ input: child.stdout! }).on('line', (text) => {
      let line: JsonLine;
      try {
        line = JSON.parse(text) as JsonLine;
      } catch {
        line = { event: 'non-json', text };
      }
      this.lines.push(line);
      this.waiters = this.waiters.filter((w) => (w.pred(line) ? (w.resolve(line), false) : true));
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  }

  static start(args: string[], env: NodeJS.ProcessEnv): CliSession {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    return new CliSession(child);
  }

  waitFor(pred: (l: JsonLine) => boolean, timeoutMs = 120_000): Promise<JsonLine> {
    const seen = this.lines.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out; lines so far:\n${this.lines.map((l) => JSON.stringify(l)).join('\n')}\nstderr:\n${this.stderr}`)), timeoutMs);
      this.waiters.push({ pred, resolve: (l) => (clearTimeout(timer), resolve(l)) });
      void this.exited.then((code) => reject(new Error(`roamlab exited with ${code} before the line came; lines:\n${this.lines.map((l) => JSON.stringify(l)).join('\n')}\nstderr:\n${this.stderr}`)));
    });
  }
}

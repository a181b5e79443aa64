/**
 * A private, unlocked Secret Service for the tests: its own dbus-daemon session bus and a
 * gnome-keyring-daemon (secrets component) on it, with a temp HOME / XDG dirs so nothing touches
 * the real home. The 'login' keyring is created on start, unlocked with a random password, and
 * is the default collection, so Secret Service clients (secret-tool, @napi-rs/keyring) can store
 * items without any prompt.
 *
 * Use: set process.env.DBUS_SESSION_BUS_ADDRESS (and XDG_RUNTIME_DIR) from `env` before calling
 * @napi-rs/keyring: it reads the bus address from the process env at call time.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { AsyncEntry } from '@napi-rs/keyring';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface RigKeyring {
  env: { DBUS_SESSION_BUS_ADDRESS: string; XDG_RUNTIME_DIR: string };
  stop(): Promise<void>;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function run(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  input?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { env, timeout: 10_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
    if (input !== undefined) child.stdin?.end(input);
    else child.stdin?.end();
  });
}

function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

async function kill(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.pid === undefined) return;
  if (child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    child.kill('SIGTERM');
  }
  if (await waitExit(child, 3000)) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
  await waitExit(child, 2000);
}

export async function startKeyring(): Promise<RigKeyring> {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'roamlab-keyring-'));
  const dirs = {
    HOME: path.join(base, 'home'),
    XDG_DATA_HOME: path.join(base, 'data'),
    XDG_CONFIG_HOME: path.join(base, 'config'),
    XDG_CACHE_HOME: path.join(base, 'cache'),
    XDG_RUNTIME_DIR: path.join(base, 'run'),
  };
  for (const d of Object.values(dirs)) fs.mkdirSync(d, { recursive: true, mode: 0o700 });
  // Make the 'login' keyring (created by --unlock) the default collection.
  fs.mkdirSync(path.join(dirs.XDG_DATA_HOME, 'keyrings'), { recursive: true, mode: 0o700 });
  fs.writeFileSync(path.join(dirs.XDG_DATA_HOME, 'keyrings', 'default'), 'login');

  const baseEnv: NodeJS.ProcessEnv = {
    PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
    LANG: 'C.UTF-8',
    ...dirs,
  };

  let dbus: ChildProcess | undefined;
  let gkd: ChildProcess | undefined;
  const logFile = path.join(base, 'keyring.log');
  const stop = async (): Promise<void> => {
    await kill(gkd);
    await kill(dbus);
    fs.rmSync(base, { recursive: true, force: true });
  };

  try {
    // 1. A private session bus on a socket in our runtime dir.
    const socket = path.join(dirs.XDG_RUNTIME_DIR, 'bus');
    dbus = spawn(
      '/usr/bin/dbus-daemon',
      ['--session', '--nofork', '--nopidfile', `--address=unix:path=${socket}`, '--print-address=1'],
      { env: baseEnv, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const address = await new Promise<string>((resolve, reject) => {
      let out = '';
      let err = '';
      const t = setTimeout(() => reject(new Error(`dbus-daemon gave no address in 5 s: ${err}`)), 5000);
      dbus?.stderr?.on('data', (b: Buffer) => (err += b.toString()));
      dbus?.stdout?.on('data', (b: Buffer) => {
        out += b.toString();
        const nl = out.indexOf('\n');
        if (nl >= 0) {
          clearTimeout(t);
          resolve(out.slice(0, nl).trim());
        }
      });
      dbus?.once('exit', (code) => {
        clearTimeout(t);
        reject(new Error(`dbus-daemon exited (${code}): ${err}`));
      });
    });
    const env = { DBUS_SESSION_BUS_ADDRESS: address, XDG_RUNTIME_DIR: dirs.XDG_RUNTIME_DIR };
    const busEnv: NodeJS.ProcessEnv = { ...baseEnv, ...env };

    // 2. gnome-keyring-daemon, unlocked with a password on stdin (creates the 'login' keyring).
    const logFd = fs.openSync(logFile, 'a');
    gkd = spawn('/usr/bin/gnome-keyring-daemon', ['--foreground', '--unlock', '--components=secrets'], {
      env: busEnv,
      detached: true,
      stdio: ['pipe', logFd, logFd],
    });
    fs.closeSync(logFd);
    gkd.stdin?.end(randomBytes(16).toString('hex'));

    // 3. Wait until it owns org.freedesktop.secrets (NameHasOwner does not trigger activation).
    const deadline = Date.now() + 10_000;
    for (;;) {
      const r = await run(
        '/usr/bin/dbus-send',
        [
          '--session',
          '--dest=org.freedesktop.DBus',
          '--print-reply',
          '/org/freedesktop/DBus',
          'org.freedesktop.DBus.NameHasOwner',
          'string:org.freedesktop.secrets',
        ],
        busEnv,
      );
      if (r.code === 0 && /boolean true/.test(r.stdout)) break;
      if (gkd.exitCode !== null || Date.now() > deadline) {
        throw new Error(`gnome-keyring-daemon did not come up: ${fs.readFileSync(logFile, 'utf8')}`);
      }
      await sleep(100);
    }

    // 4. Prove that the default collection takes items without a prompt.
    const probe = randomBytes(8).toString('hex');
    const attrs = ['service', 'roamlab-rig', 'account', 'startup-probe'];
    const stored = await run('/usr/bin/secret-tool', ['store', '--label=roamlab-rig probe', ...attrs], busEnv, probe);
    const looked = await run('/usr/bin/secret-tool', ['lookup', ...attrs], busEnv);
    if (stored.code !== 0 || looked.stdout !== probe) {
      throw new Error(
        `Secret Service probe failed (store ${stored.code}: ${stored.stderr.trim()}; lookup ${looked.code}: ${looked.stderr.trim()})`,
      );
    }
    await run('/usr/bin/secret-tool', ['clear', ...attrs], busEnv);

    return { env, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** What Roamlab keeps in the keychain under `account` (e.g. "desy-naf/token/alice"), read as a test would check it. */
export function keychainEntry(account: string): AsyncEntry {
  return new AsyncEntry('roamlab', account, { linux: { store: 'secret-service' } });
}

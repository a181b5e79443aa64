/**
 * Real JupyterHubs for the integration tests.
 *
 *  - 'jh5': JupyterHub 5.2 from Debian 13, run inside the trixie chroot built by
 *    test/rig/make-chroot.sh; single-user server = JupyterLab 4.
 *  - 'jh3': JupyterHub 3.0 from the Debian 12 host; single-user server = classic notebook 6.4.
 *
 * Both use test/rig/hub/jupyterhub_config.py (DummyAuthenticator with a shared password, named
 * servers, notebook classes tiny/small/medium/slow (+ short, opt-in), an admin service token).
 * Single-user servers serve jupyter-resource-usage's GET api/metrics/v1 through the stand-in in
 * test/rig/metrics (unless metrics: false). Every hub gets free random ports and its own temp dir;
 * stop() kills everything it started.
 *
 * With { netns, adminIp } (test/rig/netns.ts) the hub, its proxy and its servers run inside that
 * network namespace; the proxy then listens on all of the namespace's addresses, so that an sshd
 * in the namespace forwards to 127.0.0.1:port (RigHub.url, what a facility profile names) and the
 * test process reaches it over the rig's never-faulted admin link (RigHub.adminUrl).
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './ports';

export type HubFlavor = 'jh5' | 'jh3';

export interface RigHub {
  flavor: HubFlavor;
  /**
   * base URL including the path prefix, with trailing slash, e.g. http://127.0.0.1:41234/jhub/.
   * With netns: the URL as seen inside the namespace (through an SSH forward), which is what a
   * facility profile names; the test process itself uses adminUrl.
   */
  url: string;
  /**
   * Where this test process reaches the hub for admin API calls: the same as url in the root
   * namespace; with netns, http://{adminIp}:{port}{prefix} over the rig's admin link.
   */
  adminUrl: string;
  /** The network namespace the hub runs in (undefined: the root namespace). */
  netns: string | undefined;
  port: number; // public proxy port
  prefix: string; // '/', '/jhub/', ...
  password: string; // DummyAuthenticator password
  adminToken: string; // admin-scoped API token for test setup/teardown
  classKey: string; // 'profile' on jh5, 'notebook_class' on jh3
  version: string; // as GET /hub/api reports it
  logFile: string;
  /** stop the hub, the proxy and every server and kernel it started */
  stop(): Promise<void>;
  /**
   * "The facility restarted JupyterHub": the hub process is killed (SIGKILL, no cleanup, so its
   * single-user servers keep running) and so is configurable-http-proxy (SIGTERM); then both
   * start again on the same ports with the same database, cookie secret and tokens, and this
   * resolves once GET hub/api answers again. The new hub finds the running servers in its
   * database and routes them through the new proxy. Resolves with how long the hub's URL was
   * unanswered, in ms. `downForMs`: how long the hub and proxy stay stopped before they start
   * again (a slow restart; default 0).
   */
  restart(opts?: { downForMs?: number }): Promise<number>;
}

export interface StartHubOptions {
  flavor: HubFlavor;
  prefix?: string;
  /** Seconds a spawn request waits before answering 202 (default 3; the hub's own default is 10). */
  slowSpawnTimeout?: number;
  /** How long the 'slow' class queues before its server starts, in seconds (default 6). */
  slowSeconds?: number;
  /** Runtime limit of the 'tiny' class (400 MB, 1 core) in seconds (default 180). */
  tinyRuntime?: number;
  /**
   * When set, the hub also offers a 'short' class (1 GB, 1 core) with this runtime limit in
   * seconds. Off by default: other tests expect exactly tiny/small/medium/slow in the form.
   */
  shortRuntime?: number;
  /**
   * Serve jupyter-resource-usage's GET {server}/api/metrics/v1 from every single-user server
   * (the stand-in in test/rig/metrics; default true). false: the endpoint answers 404.
   */
  metrics?: boolean;
  /** How long to wait for GET {url}hub/api to answer 200 (default 90 s). */
  startTimeoutMs?: number;
  /**
   * Run the hub with JupyterHub.subdomain_host = http://localhost:PORT: each user's server on a
   * host of its own (alice.localhost:PORT), routed by Host header through the same proxy, as a
   * facility with wildcard DNS runs it. url is then http://localhost:PORT{prefix}. Nothing
   * resolves *.localhost here: a client must reach the proxy by the hub's name and send the
   * user's host in the Host header (what Roamlab does).
   */
  subdomains?: boolean;
  /**
   * JupyterHub.public_url: the address the hub and its servers name in absolute redirects (a
   * server's OAuth redirect to the hub's authorize page, and back), as a facility whose hub is
   * public at one name and reached through its SSH gateway at another runs it. Nothing answers
   * at this address here.
   */
  publicUrl?: string;
  /**
   * Run the hub (and proxy, servers, kernels) inside this network namespace: `ip netns exec NS
   * /usr/sbin/chroot ...` (jh5) or `ip netns exec NS /usr/bin/jupyterhub` (jh3). Needs adminIp.
   */
  netns?: string;
  /** With netns: the namespace's address on a link the test process can always reach (NetRig.adminIp). */
  adminIp?: string;
  /**
   * The address the public proxy binds (ROAMLAB_RIG_BIND_IP). Default 127.0.0.1, or 0.0.0.0 with
   * netns (loopback for sshd's forwards, the admin address for the test process).
   */
  bindIp?: string;
}

/** Where the rig sources live (this directory). */
export const RIG_SRC_DIR = __dirname;
export const RIG_DIR = process.env.ROAMLAB_RIG_DIR || '/var/lib/roamlab-rig';
export const CHROOT_DIR = path.join(RIG_DIR, 'trixie');
const CHROOT_MARKER = path.join(CHROOT_DIR, '.roamlab-rig-ready');
const MOUNTS_SCRIPT = path.join(RIG_SRC_DIR, 'chroot-mounts.sh');
const HUB_CONFIG = path.join(RIG_SRC_DIR, 'hub', 'jupyterhub_config.py');
const METRICS_SRC = path.join(RIG_SRC_DIR, 'metrics');
const LOG_DIR = process.env.ROAMLAB_RIG_LOG_DIR || path.join(os.tmpdir(), 'roamlab-rig-logs');
const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** true when the trixie chroot marker exists */
export function chrootReady(): boolean {
  return fs.existsSync(CHROOT_MARKER);
}

/** Mount proc, a private devpts and a tmpfs /dev/shm into the chroot (idempotent; never the host /dev). */
export function mountChroot(): void {
  execFileSync('/bin/bash', [MOUNTS_SCRIPT, 'mount', CHROOT_DIR], { stdio: ['ignore', 'pipe', 'pipe'] });
}

/**
 * Unmount the chroot's pseudo filesystems (CI teardown). Refuses while processes still run
 * inside the chroot (e.g. another test's hub).
 */
export function unmountChroot(): void {
  if (!fs.existsSync(CHROOT_DIR)) return;
  const inside = processesRootedIn(CHROOT_DIR);
  if (inside.length > 0) {
    throw new Error(`unmountChroot: processes still run inside ${CHROOT_DIR}: ${inside.join(', ')}`);
  }
  execFileSync('/bin/bash', [MOUNTS_SCRIPT, 'umount', CHROOT_DIR], { stdio: ['ignore', 'pipe', 'pipe'] });
}

async function freePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

function normalizePrefix(prefix: string | undefined): string {
  let p = prefix ?? '/';
  if (!p.startsWith('/')) p = `/${p}`;
  if (!p.endsWith('/')) p = `${p}/`;
  return p;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Resolve when p settles or after ms, whichever comes first, without leaving a timer behind. */
function within(p: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<void>((r) => {
    timer = setTimeout(r, ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

function tailFile(file: string, lines = 40): string {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return text.split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** pids of all processes whose environment carries ROAMLAB_RIG_RUN_ID=runId. */
function processesTagged(runId: string): number[] {
  const needle = Buffer.from(`ROAMLAB_RIG_RUN_ID=${runId}\0`);
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    try {
      const env = fs.readFileSync(`/proc/${entry}/environ`);
      if (env.includes(needle)) pids.push(pid);
    } catch {
      // gone, or a kernel thread
    }
  }
  return pids;
}

/** pids of processes whose root directory is dir (i.e. running inside that chroot). */
function processesRootedIn(dir: string): number[] {
  const real = fs.realpathSync(dir);
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const root = fs.readlinkSync(`/proc/${entry}/root`);
      if (root === real || root.startsWith(`${real}/`)) pids.push(Number(entry));
    } catch {
      // gone
    }
  }
  return pids;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

async function waitGone(pids: number[], ms: number): Promise<number[]> {
  const deadline = Date.now() + ms;
  let left = pids.filter(alive);
  while (left.length > 0 && Date.now() < deadline) {
    await sleep(100);
    left = left.filter(alive);
  }
  return left;
}

/** Kill everything tagged with runId: TERM, then KILL what is left. */
async function sweep(runId: string): Promise<void> {
  let pids = processesTagged(runId);
  if (pids.length === 0) return;
  for (const pid of pids) signal(pid, 'SIGTERM');
  pids = await waitGone(pids, 5000);
  for (const pid of pids) signal(pid, 'SIGKILL');
  await waitGone(pids, 2000);
}

function removeTree(dir: string): void {
  // --one-file-system: never descend into anything mounted below dir.
  execFileSync('/bin/rm', ['-rf', '--one-file-system', '--', dir], { stdio: 'ignore' });
}

async function waitForHub(
  url: string,
  child: ChildProcess,
  logFile: string,
  timeoutMs: number,
  flavor: HubFlavor,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let exited: string | null = null;
  child.once('exit', (code, sig) => {
    exited = `exited with ${sig ?? code}`;
  });
  let lastError = '';
  while (Date.now() < deadline) {
    if (exited !== null) break;
    try {
      const res = await fetch(`${url}hub/api`, { signal: AbortSignal.timeout(2000) });
      if (res.status === 200) {
        const body = (await res.json()) as { version?: unknown };
        if (typeof body.version === 'string') return body.version;
        lastError = `unexpected body ${JSON.stringify(body)}`;
      } else {
        lastError = `HTTP ${res.status}`;
        await res.body?.cancel();
      }
    } catch (err) {
      lastError = (err as Error).message;
    }
    await sleep(250);
  }
  const why = exited !== null ? `the hub ${exited}` : `timed out after ${timeoutMs} ms (last: ${lastError})`;
  throw new Error(`${flavor} hub at ${url} did not come up: ${why}\n--- tail of ${logFile} ---\n${tailFile(logFile)}`);
}

const running = new Set<{ pgid: number; runId: string }>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last resort when a test run dies without calling stop(): no orphaned hubs or servers.
  process.once('exit', () => {
    for (const r of running) {
      signal(-r.pgid, 'SIGKILL');
      for (const pid of processesTagged(r.runId)) signal(pid, 'SIGKILL');
    }
  });
}

export async function startHub(opts: StartHubOptions): Promise<RigHub> {
  const { flavor, netns } = opts;
  if (flavor !== 'jh5' && flavor !== 'jh3') throw new Error(`unknown hub flavor ${String(flavor)}`);
  const prefix = normalizePrefix(opts.prefix);
  if (netns !== undefined && opts.adminIp === undefined) {
    throw new Error('startHub: netns needs adminIp (an address of the namespace this process can reach)');
  }
  const bindIp = opts.bindIp ?? (netns !== undefined ? '0.0.0.0' : '127.0.0.1');

  if (flavor === 'jh5') {
    if (!chrootReady()) {
      throw new Error(
        `The JupyterHub 5.2 chroot is missing (${CHROOT_MARKER} not found). ` +
          `Build it once, as root: test/rig/make-chroot.sh (or test/rig/setup.sh).`,
      );
    }
    mountChroot();
  } else if (!fs.existsSync('/usr/bin/jupyterhub') || !fs.existsSync('/usr/bin/configurable-http-proxy')) {
    throw new Error('JupyterHub 3.0 is not installed on the host: run test/rig/setup.sh');
  }

  const runId = `${flavor}-${randomBytes(6).toString('hex')}`;
  const password = randomBytes(12).toString('base64url');
  const adminToken = randomBytes(24).toString('hex');
  const [port, hubPort, apiPort] = (await freePorts(3)) as [number, number, number];

  // Per-hub temp dir: inside the chroot for jh5 (the hub sees it as /tmp/roamlab-rig-XXXX).
  const hostRunDir =
    flavor === 'jh5'
      ? fs.mkdtempSync(path.join(CHROOT_DIR, 'tmp', 'roamlab-rig-'))
      : fs.mkdtempSync(path.join(os.tmpdir(), 'roamlab-rig-jh3-'));
  fs.chmodSync(hostRunDir, 0o700);
  const runDir = flavor === 'jh5' ? `/tmp/${path.basename(hostRunDir)}` : hostRunDir;
  fs.copyFileSync(HUB_CONFIG, path.join(hostRunDir, 'jupyterhub_config.py'));
  const metrics = opts.metrics ?? true;
  if (metrics) {
    // The package must be importable inside the chroot too: copy it next to the config.
    for (const part of ['roamlab_rig_metrics', 'config']) {
      fs.cpSync(path.join(METRICS_SRC, part), path.join(hostRunDir, 'metrics', part), {
        recursive: true,
        filter: (src) => !src.includes('__pycache__'),
      });
    }
  }
  fs.mkdirSync(LOG_DIR, { recursive: true });
  const logFile = path.join(LOG_DIR, `${runId}.log`);

  const hubEnv: Record<string, string> = {
    PATH: SYSTEM_PATH,
    HOME: runDir,
    LANG: 'C.UTF-8',
    NODE_PATH: '/usr/share/nodejs',
    PYTHONDONTWRITEBYTECODE: '1',
    ROAMLAB_RIG_FLAVOR: flavor,
    ROAMLAB_RIG_RUN_ID: runId,
    ROAMLAB_RIG_RUN_DIR: runDir,
    ROAMLAB_RIG_PORT: String(port),
    ROAMLAB_RIG_BIND_IP: bindIp,
    ROAMLAB_RIG_PREFIX: prefix,
    ROAMLAB_RIG_HUB_PORT: String(hubPort),
    ROAMLAB_RIG_PROXY_API_PORT: String(apiPort),
    ROAMLAB_RIG_PASSWORD: password,
    ROAMLAB_RIG_ADMIN_TOKEN: adminToken,
    ROAMLAB_RIG_PROXY_CMD: '/usr/bin/configurable-http-proxy',
  };
  if (opts.slowSpawnTimeout !== undefined) hubEnv.ROAMLAB_RIG_SLOW_SPAWN_TIMEOUT = String(opts.slowSpawnTimeout);
  if (opts.slowSeconds !== undefined) hubEnv.ROAMLAB_RIG_SLOW_SECONDS = String(opts.slowSeconds);
  if (opts.tinyRuntime !== undefined) hubEnv.ROAMLAB_RIG_TINY_RUNTIME = String(opts.tinyRuntime);
  if (opts.shortRuntime !== undefined) hubEnv.ROAMLAB_RIG_SHORT_RUNTIME = String(opts.shortRuntime);
  if (metrics) hubEnv.ROAMLAB_RIG_METRICS_DIR = `${runDir}/metrics`;
  if (opts.subdomains) hubEnv.ROAMLAB_RIG_SUBDOMAIN_HOST = `http://localhost:${port}`;
  if (opts.publicUrl) hubEnv.ROAMLAB_RIG_PUBLIC_URL = opts.publicUrl;

  const cfg = `${runDir}/jupyterhub_config.py`;
  // `ip netns exec` execs what follows after setns, so the child stays the hub's own process.
  const inNetns = (argv: string[]): [string, string[]] =>
    netns === undefined ? [argv[0]!, argv.slice(1)] : ['/usr/sbin/ip', ['netns', 'exec', netns, ...argv]];
  const launch = (): ChildProcess => {
    const fd = fs.openSync(logFile, 'a');
    try {
      if (flavor === 'jh5') {
        // chroot(1) resets the cwd to /; env -i -C gives a clean environment and the run dir.
        const envArgs = Object.entries(hubEnv).map(([k, v]) => `${k}=${v}`);
        const [cmd, args] = inNetns([
          '/usr/sbin/chroot',
          CHROOT_DIR,
          '/usr/bin/env',
          '-i',
          '-C',
          runDir,
          ...envArgs,
          '/usr/bin/jupyterhub',
          '-f',
          cfg,
        ]);
        return spawn(cmd, args, {
          detached: true,
          stdio: ['ignore', fd, fd],
          env: { PATH: SYSTEM_PATH, ROAMLAB_RIG_RUN_ID: runId },
        });
      }
      const [cmd, args] = inNetns(['/usr/bin/jupyterhub', '-f', cfg]);
      return spawn(cmd, args, { cwd: runDir, detached: true, stdio: ['ignore', fd, fd], env: hubEnv });
    } finally {
      fs.closeSync(fd);
    }
  };

  let child = launch();
  const pgid = child.pid;
  if (pgid === undefined) {
    removeTree(hostRunDir);
    throw new Error(`${flavor}: could not spawn the hub (see ${logFile})`);
  }
  const handle = { pgid, runId };
  running.add(handle);
  installExitHook();

  // The hub process of the current launch (restart() replaces it).
  let exited = false;
  let exitPromise: Promise<void> = Promise.resolve();
  const watch = (c: ChildProcess) => {
    exited = false;
    exitPromise = new Promise<void>((resolve) => {
      c.once('exit', () => {
        if (c === child) exited = true;
        resolve();
      });
    });
  };
  watch(child);

  let stopped: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      const g = handle.pgid;
      // The hub stops its servers and the proxy on SIGTERM (cleanup_servers); give it time.
      if (!exited) {
        signal(-g, 'SIGTERM');
        await within(exitPromise, 15_000);
      }
      if (!exited) {
        signal(-g, 'SIGKILL');
        await within(exitPromise, 3000);
      }
      signal(-g, 'SIGKILL'); // stragglers in the hub's own group
      // Servers, kernels and the proxy live in their own sessions; they carry the run tag.
      await sweep(runId);
      running.delete(handle);
      removeTree(hostRunDir);
    })();
    return stopped;
  };

  const url = `http://${opts.subdomains ? 'localhost' : '127.0.0.1'}:${port}${prefix}`;
  const adminUrl = netns === undefined ? url : `http://${opts.adminIp}:${port}${prefix}`;
  let version: string;
  try {
    version = await waitForHub(adminUrl, child, logFile, opts.startTimeoutMs ?? 90_000, flavor);
  } catch (err) {
    await stop();
    throw err;
  }

  const restart = async (restartOpts?: { downForMs?: number }): Promise<number> => {
    if (stopped) throw new Error('restart: the hub was stopped');
    const down = Date.now();
    // 1. The hub, without its cleanup: its servers (own sessions) keep running.
    const g = handle.pgid;
    signal(-g, 'SIGKILL');
    await within(exitPromise, 5000);
    if (!exited) throw new Error(`restart: the hub (pid ${g}) did not die`);
    // 2. The proxy (its own session; pid file in the run dir). Only if it carries our run tag.
    const proxyPidFile = path.join(hostRunDir, 'proxy.pid');
    const proxyPid = Number(fs.existsSync(proxyPidFile) ? fs.readFileSync(proxyPidFile, 'utf8').trim() : NaN);
    if (Number.isInteger(proxyPid) && proxyPid > 0 && processesTagged(runId).includes(proxyPid)) {
      signal(proxyPid, 'SIGTERM');
      if ((await waitGone([proxyPid], 5000)).length > 0) {
        signal(proxyPid, 'SIGKILL');
        await waitGone([proxyPid], 2000);
      }
    }
    // 3. Both again, same ports, same state.
    if (restartOpts?.downForMs) await new Promise((r) => setTimeout(r, restartOpts.downForMs));
    child = launch();
    if (child.pid === undefined) throw new Error(`restart: could not spawn the hub (see ${logFile})`);
    handle.pgid = child.pid;
    watch(child);
    await waitForHub(adminUrl, child, logFile, opts.startTimeoutMs ?? 90_000, flavor);
    return Date.now() - down;
  };

  return {
    flavor,
    url,
    adminUrl,
    netns,
    port,
    prefix,
    password,
    adminToken,
    classKey: flavor === 'jh5' ? 'profile' : 'notebook_class',
    version,
    logFile,
    stop,
    restart,
  };
}

/**
 * A network-namespace rig for "roaming" fault tests: the facility's side (sshd, JupyterHub) runs
 * in a network namespace of its own, reached from this test process (the root namespace, "the
 * laptop") over two veth links:
 *
 *   lan   (faultable)     root  roam{N}lan  10.77.N.1/24  <->  lan0 10.77.N.2/24  server ns
 *   admin (never faulted) root  roam{N}adm  10.78.N.1/24  <->  adm0 10.78.N.2/24  server ns
 *
 * Faults, all on the lan link only:
 *  - linkDown()/linkUp(): the laptop's interface goes down ("Wi-Fi lost") and up again. Bringing
 *    an interface down makes the kernel drop the routes through it; the rig keeps an
 *    `unreachable` route for each of its subnets (metric 4000) underneath, so that meanwhile a
 *    packet for 10.77.N.x fails at once with EHOSTUNREACH instead of leaving through the
 *    machine's default route. linkUp() brings the link up, makes sure its address and connected
 *    route are back and waits for carrier.
 *  - dropOn()/dropOff(): every IP packet that arrives over the lan link, in either direction,
 *    vanishes (an nftables prerouting rule on each end, priority -300: before conntrack, nothing
 *    answers with a RST or an ICMP error, and local senders see no error either). ARP still
 *    passes, so neither side's neighbour entry fails (which would produce a local "host
 *    unreachable").
 *
 * N is random per rig (1..254) and taken atomically by `ip netns add roamlab-N`, so several test
 * files in parallel processes each get their own namespace, interface names and subnets. A marker
 * in /run/roamlab-rig/netns records the owning process; a later createNetRig() removes rigs whose
 * owner died without close() (SIGKILL). close() (also run on process exit, SIGINT and SIGTERM)
 * stops what it started, kills whatever still runs in the namespace, removes the nftables tables,
 * the namespace, the veths and the fallback routes.
 *
 * Needs root, iproute2 and nftables (test/rig/setup.sh installs them). Traffic only ever goes
 * between this machine's root namespace and a namespace the rig made.
 */
import { execFile, execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import fs from 'node:fs';
import { randomInt } from 'node:crypto';
import path from 'node:path';
import { startHub, type RigHub, type StartHubOptions } from './hubs';
import { startSshd, type RigSshd, type StartSshdOptions } from './sshd';

const IP = '/usr/sbin/ip';
const NFT = '/usr/sbin/nft';
const MARKER_DIR = '/run/roamlab-rig/netns';
const NS_PREFIX = 'roamlab-';
/** Metric of the rig's fallback `unreachable` routes (the connected routes have 0). */
const FALLBACK_METRIC = 4000;
const SERVER_LAN_IF = 'lan0';
const SERVER_ADMIN_IF = 'adm0';
/** The nftables table of the drop fault inside the server namespace. */
const NS_DROP_TABLE = 'roamlab_drop';

export interface ExecResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface NetRig {
  /** The rig's number N (1..254): names and subnets derive from it. */
  index: number;
  /** Server namespace name, unique per rig: roamlab-N. */
  ns: string;
  /** The server side's address over the faultable lan link, as this process reaches it: 10.77.N.2. */
  serverIp: string;
  /** This process's (the laptop's) address on the lan link: 10.77.N.1. */
  clientIp: string;
  /** The server side's address over the never-faulted admin link (test setup, admin API): 10.78.N.2. */
  adminIp: string;
  /** This process's address on the admin link: 10.78.N.1. */
  adminClientIp: string;
  /** Root-namespace ends of the veths: roam{N}lan (faultable), roam{N}adm. */
  hostLanIf: string;
  hostAdminIf: string;
  /** Server-namespace ends: lan0, adm0. */
  serverLanIf: string;
  serverAdminIf: string;
  /** Is the lan link up (linkUp/linkDown) and are packets being dropped (dropOn/dropOff)? */
  readonly linkIsUp: boolean;
  readonly dropping: boolean;

  /** `ip link set roam{N}lan down`: the laptop's interface is gone; new connects fail with EHOSTUNREACH. */
  linkDown(): Promise<void>;
  /** Up again, with its address and route; resolves once the link has carrier and a route. */
  linkUp(): Promise<void>;
  /** Every IP packet on the lan link vanishes, both directions; no RST, no ICMP. Idempotent. */
  dropOn(): Promise<void>;
  /** Remove the drop rules. Idempotent. */
  dropOff(): Promise<void>;

  /** Start a command inside the server namespace (`ip netns exec NS ...`). */
  spawn(cmd: string[], opts?: SpawnOptions): ChildProcess;
  /** Run a command inside the server namespace to its end (timeout default 10 s: SIGKILL, code null). */
  exec(cmd: string[], opts?: { timeoutMs?: number; input?: string }): Promise<ExecResult>;
  /** PIDs of all processes inside the server namespace. */
  pids(): number[];

  /** startSshd() inside the namespace, listening on serverIp; close() stops it. */
  startSshd(opts?: Omit<StartSshdOptions, 'netns'>): Promise<RigSshd>;
  /** startHub() inside the namespace (adminUrl over the admin link); close() stops it. */
  startHub(opts: Omit<StartHubOptions, 'netns' | 'adminIp'>): Promise<RigHub>;

  /**
   * Stop what startSshd/startHub started, kill every process left in the namespace, remove the
   * nftables tables, the namespace, the veths and the fallback routes. Idempotent.
   */
  close(): Promise<void>;
}

interface Names {
  index: number;
  ns: string;
  hostLanIf: string;
  hostAdminIf: string;
  lanNet: string;
  adminNet: string;
  rootDropTable: string;
}

/** Rigs of this process that are not closed yet (for the exit hooks). */
const open = new Map<number, Names>();

function namesOf(index: number): Names {
  return {
    index,
    ns: `${NS_PREFIX}${index}`,
    hostLanIf: `roam${index}lan`,
    hostAdminIf: `roam${index}adm`,
    lanNet: `10.77.${index}`,
    adminNet: `10.78.${index}`,
    rootDropTable: `roamlab_drop_${index}`,
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Run a command (no shell); reject with its stderr when it fails. */
function run(cmd: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { timeout: opts.timeoutMs ?? 10_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${String(stderr).trim() || err.message}`));
      else resolve(String(stdout));
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Synchronous, errors ignored: for cleanup paths (exit hooks) where nothing may throw. */
function runQuiet(cmd: string, args: string[], input?: string): boolean {
  try {
    execFileSync(cmd, args, { stdio: ['pipe', 'ignore', 'ignore'], input, timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

function nsExists(ns: string): boolean {
  return fs.existsSync(path.join('/run/netns', ns));
}

function linkExists(name: string): boolean {
  return fs.existsSync(path.join('/sys/class/net', name));
}

/** PIDs of processes in namespace ns (`ip netns pids`); [] when it is gone. */
function nsPids(ns: string): number[] {
  if (!nsExists(ns)) return [];
  try {
    const out = execFileSync(IP, ['netns', 'pids', ns], { stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 });
    return String(out)
      .split(/\s+/)
      .filter((s) => /^\d+$/.test(s))
      .map(Number)
      .filter((pid) => pid !== process.pid);
  } catch {
    return [];
  }
}

/** Does the process still run? (A zombie, dead but not yet reaped by its parent, does not.) */
function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Synchronous nap (the exit hook runs where no timers fire). */
function napSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Wait, synchronously, until none of pids runs any more or ms passed; the ones left. */
function waitGoneSync(pids: number[], ms: number): number[] {
  const deadline = Date.now() + ms;
  let left = pids.filter(alive);
  while (left.length > 0 && Date.now() < deadline) {
    napSync(20);
    left = left.filter(alive);
  }
  return left;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** Kernel start time of a process (field 22 of /proc/PID/stat), to tell a reused PID apart. */
function startTimeOf(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function markerFile(index: number): string {
  return path.join(MARKER_DIR, String(index));
}

function writeMarker(index: number): void {
  fs.mkdirSync(MARKER_DIR, { recursive: true });
  fs.writeFileSync(markerFile(index), `${process.pid} ${startTimeOf(process.pid) ?? ''}\n`);
}

/** Does the process that made rig `index` still run? false when there is no marker. */
function ownerAlive(index: number): boolean {
  let text: string;
  try {
    text = fs.readFileSync(markerFile(index), 'utf8');
  } catch {
    return false;
  }
  const [pid, start] = text.trim().split(' ');
  const p = Number(pid);
  return Number.isInteger(p) && p > 0 && alive(p) && startTimeOf(p) === start;
}

/**
 * Remove everything of rig `index`, synchronously, ignoring what is already gone: processes in
 * the namespace (TERM, then KILL), both nftables tables, the namespace, the veths, the fallback
 * routes and the marker.
 */
function teardownSync(n: Names): void {
  const pids = nsPids(n.ns);
  for (const pid of pids) signal(pid, 'SIGTERM');
  waitGoneSync(pids, 3000);
  const left = nsPids(n.ns).filter(alive);
  for (const pid of left) signal(pid, 'SIGKILL');
  waitGoneSync(left, 2000);
  runQuiet(NFT, ['delete', 'table', 'inet', n.rootDropTable]);
  if (nsExists(n.ns)) runQuiet(IP, ['netns', 'del', n.ns]);
  // Deleting the namespace deletes its veth ends and so the peers here; just in case it did not:
  for (const ifname of [n.hostLanIf, n.hostAdminIf]) {
    if (linkExists(ifname)) runQuiet(IP, ['link', 'del', ifname]);
  }
  for (const net of [n.lanNet, n.adminNet]) {
    runQuiet(IP, ['route', 'del', 'unreachable', `${net}.0/24`, 'metric', String(FALLBACK_METRIC)]);
  }
  try {
    fs.rmSync(markerFile(n.index), { force: true });
  } catch {
    // nothing to remove
  }
}

/** Tear down rigs whose owning process is gone (a test run killed without close()). */
function sweepStale(): void {
  let entries: string[] = [];
  try {
    entries = fs.readdirSync('/run/netns');
  } catch {
    // no namespaces at all
  }
  const indices = new Set<number>();
  for (const e of entries) {
    const m = /^roamlab-(\d{1,3})$/.exec(e);
    if (m) indices.add(Number(m[1]));
  }
  try {
    for (const e of fs.readdirSync(MARKER_DIR)) if (/^\d{1,3}$/.test(e)) indices.add(Number(e));
  } catch {
    // no markers yet
  }
  for (const index of indices) {
    if (open.has(index) || ownerAlive(index)) continue;
    const n = namesOf(index);
    // A namespace without a marker may be one that another process is creating right now.
    if (!fs.existsSync(markerFile(index))) {
      try {
        if (Date.now() - fs.statSync(path.join('/run/netns', n.ns)).mtimeMs < 60_000) continue;
      } catch {
        continue;
      }
    }
    teardownSync(n);
  }
}

/** Is anything of this machine already using the subnets or names of rig `index`? */
function taken(n: Names): boolean {
  if (nsExists(n.ns) || linkExists(n.hostLanIf) || linkExists(n.hostAdminIf)) return true;
  const routes = execFileSync(IP, ['-4', '-o', 'route', 'show', 'table', 'all'], { encoding: 'utf8' });
  const addrs = execFileSync(IP, ['-4', '-o', 'addr', 'show'], { encoding: 'utf8' });
  const text = `${routes}\n${addrs}`;
  return text.includes(`${n.lanNet}.`) || text.includes(`${n.adminNet}.`);
}

let hooksInstalled = false;

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  const closeAllSync = () => {
    for (const n of open.values()) teardownSync(n);
    open.clear();
  };
  process.once('exit', closeAllSync);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      closeAllSync();
      // Without other listeners, keep the signal's default effect (the process ends).
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    });
  }
}

function dropRuleset(table: string, ifname: string): string {
  return [
    `table inet ${table} {`,
    '  chain prerouting {',
    // Before conntrack (-200) and everything else: the packet is simply gone.
    '    type filter hook prerouting priority -300; policy accept;',
    `    iifname "${ifname}" drop`,
    '  }',
    '}',
    '',
  ].join('\n');
}

/** Wait until the interface has carrier (both veth ends up). */
async function waitCarrier(ifname: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let carrier = '';
    try {
      carrier = fs.readFileSync(`/sys/class/net/${ifname}/carrier`, 'utf8').trim();
    } catch {
      // reading carrier of a down interface fails with EINVAL
    }
    if (carrier === '1') return;
    if (Date.now() > deadline) throw new Error(`${ifname}: no carrier after ${timeoutMs} ms`);
    await sleep(5);
  }
}

export async function createNetRig(): Promise<NetRig> {
  if (process.getuid?.() !== 0) throw new Error('createNetRig: needs root (ip netns, nft)');
  for (const bin of [IP, NFT]) {
    if (!fs.existsSync(bin)) throw new Error(`createNetRig: ${bin} is missing: run test/rig/setup.sh`);
  }
  sweepStale();

  // Take a free N: `ip netns add` fails when the name exists, so two processes never share one.
  let names: Names | undefined;
  for (let attempt = 0; attempt < 60 && names === undefined; attempt++) {
    const n = namesOf(randomInt(1, 255));
    if (open.has(n.index) || taken(n)) continue;
    try {
      await run(IP, ['netns', 'add', n.ns]);
    } catch {
      continue;
    }
    names = n;
  }
  if (names === undefined) throw new Error('createNetRig: no free rig number (1..254)');
  const n = names;
  open.set(n.index, n);
  installHooks();

  const serverIp = `${n.lanNet}.2`;
  const clientIp = `${n.lanNet}.1`;
  const adminIp = `${n.adminNet}.2`;
  const adminClientIp = `${n.adminNet}.1`;
  const ipn = (...args: string[]) => run(IP, ['-n', n.ns, ...args]);

  try {
    writeMarker(n.index);
    // First the fallbacks, so that no packet for the rig's subnets ever takes the default route.
    for (const net of [n.lanNet, n.adminNet]) {
      await run(IP, ['route', 'add', 'unreachable', `${net}.0/24`, 'metric', String(FALLBACK_METRIC)]);
    }
    await ipn('link', 'set', 'lo', 'up');
    for (const [hostIf, nsIf, net] of [
      [n.hostLanIf, SERVER_LAN_IF, n.lanNet],
      [n.hostAdminIf, SERVER_ADMIN_IF, n.adminNet],
    ] as const) {
      await run(IP, ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf, 'netns', n.ns]);
      await run(IP, ['addr', 'add', `${net}.1/24`, 'dev', hostIf]);
      await ipn('addr', 'add', `${net}.2/24`, 'dev', nsIf);
      await ipn('link', 'set', nsIf, 'up');
      await run(IP, ['link', 'set', hostIf, 'up']);
    }
    await waitCarrier(n.hostLanIf, 5000);
    await waitCarrier(n.hostAdminIf, 5000);
  } catch (err) {
    teardownSync(n);
    open.delete(n.index);
    throw err;
  }

  let linkIsUp = true;
  let dropping = false;
  let closed: Promise<void> | undefined;
  const sshds = new Set<RigSshd>();
  const hubs = new Set<RigHub>();

  const assertOpen = (what: string) => {
    if (closed) throw new Error(`NetRig ${n.ns}: ${what} after close()`);
  };

  const rig: NetRig = {
    index: n.index,
    ns: n.ns,
    serverIp,
    clientIp,
    adminIp,
    adminClientIp,
    hostLanIf: n.hostLanIf,
    hostAdminIf: n.hostAdminIf,
    serverLanIf: SERVER_LAN_IF,
    serverAdminIf: SERVER_ADMIN_IF,
    get linkIsUp() {
      return linkIsUp;
    },
    get dropping() {
      return dropping;
    },

    async linkDown() {
      assertOpen('linkDown');
      await run(IP, ['link', 'set', n.hostLanIf, 'down']);
      linkIsUp = false;
    },

    async linkUp() {
      assertOpen('linkUp');
      await run(IP, ['link', 'set', n.hostLanIf, 'up']);
      // The address survives a down/up and the kernel re-adds the connected route on up; make
      // sure of both anyway (someone may have flushed them).
      const addrs = await run(IP, ['-4', '-o', 'addr', 'show', 'dev', n.hostLanIf]);
      if (!addrs.includes(` ${clientIp}/24 `)) await run(IP, ['addr', 'add', `${clientIp}/24`, 'dev', n.hostLanIf]);
      await waitCarrier(n.hostLanIf, 5000);
      const routes = await run(IP, ['-4', '-o', 'route', 'show', `${n.lanNet}.0/24`, 'dev', n.hostLanIf]);
      if (!routes.includes(`${n.lanNet}.0/24`)) {
        await run(IP, ['route', 'add', `${n.lanNet}.0/24`, 'dev', n.hostLanIf, 'proto', 'kernel', 'scope', 'link', 'src', clientIp]);
      }
      linkIsUp = true;
    },

    async dropOn() {
      assertOpen('dropOn');
      if (dropping) return;
      // Server → client packets vanish on arrival here, client → server ones in the namespace.
      await run(NFT, ['-f', '-'], { input: dropRuleset(n.rootDropTable, n.hostLanIf) });
      await run(IP, ['netns', 'exec', n.ns, NFT, '-f', '-'], { input: dropRuleset(NS_DROP_TABLE, SERVER_LAN_IF) });
      dropping = true;
    },

    async dropOff() {
      assertOpen('dropOff');
      // Each delete may find its table gone already (idempotent).
      await run(NFT, ['delete', 'table', 'inet', n.rootDropTable]).catch(() => undefined);
      await run(IP, ['netns', 'exec', n.ns, NFT, 'delete', 'table', 'inet', NS_DROP_TABLE]).catch(() => undefined);
      dropping = false;
    },

    spawn(cmd, opts = {}) {
      assertOpen('spawn');
      return spawn(IP, ['netns', 'exec', n.ns, ...cmd], opts);
    },

    exec(cmd, opts = {}) {
      assertOpen('exec');
      return new Promise<ExecResult>((resolve) => {
        const child = execFile(
          IP,
          ['netns', 'exec', n.ns, ...cmd],
          { timeout: opts.timeoutMs ?? 10_000, killSignal: 'SIGKILL' },
          (err, stdout, stderr) => {
            const e = err as (Error & { code?: unknown; signal?: NodeJS.Signals | null }) | null;
            resolve({
              code: e ? (typeof e.code === 'number' ? e.code : null) : 0,
              signal: e?.signal ?? null,
              stdout: String(stdout),
              stderr: String(stderr),
            });
          },
        );
        if (opts.input !== undefined) child.stdin?.end(opts.input);
        else child.stdin?.end();
      });
    },

    pids() {
      return nsPids(n.ns);
    },

    async startSshd(opts = {}) {
      assertOpen('startSshd');
      const sshd = await startSshd({ listenAddress: serverIp, ...opts, netns: n.ns });
      sshds.add(sshd);
      return sshd;
    },

    async startHub(opts) {
      assertOpen('startHub');
      const hub = await startHub({ ...opts, netns: n.ns, adminIp });
      hubs.add(hub);
      return hub;
    },

    close() {
      closed ??= (async () => {
        // Politely first: the hubs stop their servers, sshd its sessions.
        await Promise.allSettled([...hubs].map((h) => h.stop()));
        await Promise.allSettled([...sshds].map((s) => s.stop()));
        let pids = nsPids(n.ns);
        for (const pid of pids) signal(pid, 'SIGTERM');
        const deadline = Date.now() + 3000;
        while (pids.some(alive) && Date.now() < deadline) {
          await sleep(50);
          pids = pids.filter(alive);
        }
        teardownSync(n); // KILLs what is left, then removes tables, namespace, veths, routes
        open.delete(n.index);
        linkIsUp = false;
        dropping = false;
      })();
      return closed;
    },
  };
  return rig;
}

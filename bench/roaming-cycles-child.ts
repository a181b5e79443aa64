/**
 * The roaming bench's drop/reconnect cycles: Roamlab's Session in a process of its own, holding only
 * what the app holds for a session (the Session, its gateway, its transport, an in-memory keychain
 * and a logger), so that its memory can be measured without the bench around it.
 *
 * Started by bench/roaming-bench.ts, which transpiles this file to dist/bench/ and runs it with plain
 * `node --expose-gc` against the compiled core in dist/electron/core (no tsx, no esbuild in here).
 * The parent drives everything else: it kills the sshd session processes and sends the one request
 * per cycle through this process's gateway.
 *
 * Protocol, one JSON object per line.
 *   stdin (parent → child): first `{ profile, notebookClass, username, secrets }`, then commands
 *     `{ cmd: 'sample', cycle, heapSnapshotDir? }`, `{ cmd: 'log' }`, `{ cmd: 'close' }`.
 *   stdout (child → parent): `{ type: 'state', s }` for every state the session enters,
 *     `{ type: 'entry', url }` once started, `{ type: 'sample', sample }`, `{ type: 'log', lines }`,
 *     `{ type: 'error', message }`, `{ type: 'closed' }`.
 * When stdin closes (the parent is gone), the session is closed and the process exits.
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import * as v8 from 'node:v8';

import { Session } from '../electron/core/session/session';
import { MemoryKeychain } from '../electron/core/keychain/keychain';
import { Logger } from '../electron/core/log';
import { openTransport } from '../electron/core/transport/open';
import type { FacilityProfile, NotebookClass } from '../electron/core/profile/schema';

export interface CyclesChildInit {
  profile: FacilityProfile;
  notebookClass: NotebookClass;
  username: string;
  /** Keychain entries (account → secret), as `roamlab login` left them. */
  secrets: Record<string, string>;
}

export type CyclesChildCommand = { cmd: 'sample'; cycle: number; heapSnapshotDir?: string } | { cmd: 'log' } | { cmd: 'close' };

/** One sample of this process, after 300 ms of quiet and three full GCs. Sizes in MiB. */
export interface ProcSample {
  cycle: number;
  rssMiB: number;
  /** From /proc/self/status: anonymous (malloc, V8 heap, stacks) and file-backed (code, mapped files) resident memory. */
  rssAnonMiB: number;
  rssFileMiB: number;
  /** Resident in the brk heap ([heap] in /proc/self/smaps): glibc's main malloc arena. */
  brkHeapMiB: number;
  heapUsedMiB: number;
  /** V8's reserved heap (process.memoryUsage().heapTotal). */
  heapTotalMiB: number;
  /** V8's heap pages actually backed by memory (v8.getHeapStatistics().total_physical_size). */
  v8PhysicalMiB: number;
  /** The young generation (both semi-spaces): space_size of new_space, and how much of it is resident. */
  newSpaceMiB: number;
  newSpacePhysicalMiB: number;
  /** Memory V8 itself got from malloc (zones, compiler), v8.getHeapStatistics().malloced_memory. */
  v8MallocedMiB: number;
  externalMiB: number;
  arrayBuffersMiB: number;
  /** Every V8 heap space: size, resident (physical) and used (MiB). */
  spaces: Record<string, { size: number; physical: number; used: number }>;
  threads: number;
  fds: number;
  handles: number;
  resources: Record<string, number>;
}

const MiB = 2 ** 20;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const send = (msg: object) => process.stdout.write(`${JSON.stringify(msg)}\n`);

function gcNow(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  gc();
}

/** Resident kB of the [heap] mapping (the brk heap), from /proc/self/smaps. */
function brkHeapKiB(): number {
  const smaps = readFileSync('/proc/self/smaps', 'utf8');
  let inHeap = false;
  let kib = 0;
  for (const line of smaps.split('\n')) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) inHeap = line.trimEnd().endsWith('[heap]');
    else if (inHeap && line.startsWith('Rss:')) kib += Number(/(\d+)/.exec(line)?.[1] ?? 0);
  }
  return kib;
}

export async function sampleProcess(cycle: number): Promise<ProcSample> {
  await sleep(300);
  for (let i = 0; i < 3; i++) {
    gcNow();
    await new Promise((r) => setImmediate(r));
  }
  const m = process.memoryUsage();
  const h = v8.getHeapStatistics();
  const spaces: ProcSample['spaces'] = {};
  for (const s of v8.getHeapSpaceStatistics()) spaces[s.space_name] = { size: s.space_size / MiB, physical: s.physical_space_size / MiB, used: s.space_used_size / MiB };
  const resources: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) resources[r] = (resources[r] ?? 0) + 1;
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles().length;
  const status = readFileSync('/proc/self/status', 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
  return {
    cycle,
    rssMiB: m.rss / MiB,
    rssAnonMiB: field('RssAnon') / 1024,
    rssFileMiB: field('RssFile') / 1024,
    brkHeapMiB: brkHeapKiB() / 1024,
    heapUsedMiB: m.heapUsed / MiB,
    heapTotalMiB: m.heapTotal / MiB,
    v8PhysicalMiB: h.total_physical_size / MiB,
    newSpaceMiB: spaces.new_space?.size ?? NaN,
    newSpacePhysicalMiB: spaces.new_space?.physical ?? NaN,
    v8MallocedMiB: h.malloced_memory / MiB,
    externalMiB: m.external / MiB,
    arrayBuffersMiB: m.arrayBuffers / MiB,
    spaces,
    threads: field('Threads'),
    fds: readdirSync('/proc/self/fd').length,
    handles,
    resources,
  };
}

async function main(): Promise<void> {
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity })[Symbol.asyncIterator]();
  const first = await lines.next();
  if (first.done) return;
  const init = JSON.parse(first.value) as CyclesChildInit;

  const keychain = new MemoryKeychain();
  for (const [account, secret] of Object.entries(init.secrets)) await keychain.set(account, secret);
  // The last lines of the session's log, for the parent when something fails (bounded).
  const logLines: string[] = [];
  const log = new Logger(undefined, (line) => {
    logLines.push(line);
    if (logLines.length > 100) logLines.shift();
  });
  const { profile } = init;
  const session = new Session({
    profile,
    keychain,
    username: init.username,
    notebookClass: init.notebookClass,
    log,
    openTransport: (signal) => openTransport(profile, { keychain, signal }),
    // monitor and supervise left at their defaults: what a person gets.
  });
  session.on('state', (s) => send({ type: 'state', s }));

  let closing: Promise<void> | undefined;
  const close = () => (closing ??= session.close('benchmark done').catch(() => undefined));
  try {
    send({ type: 'entry', url: await session.start() });
  } catch (e) {
    send({ type: 'error', message: (e as Error).message, log: logLines });
    await close();
    return;
  }

  for (;;) {
    const next = await lines.next();
    if (next.done) break;
    const c = JSON.parse(next.value) as CyclesChildCommand;
    if (c.cmd === 'sample') {
      const sample = await sampleProcess(c.cycle);
      if (c.heapSnapshotDir) v8.writeHeapSnapshot(path.join(c.heapSnapshotDir, `roaming-cycle-${c.cycle}.heapsnapshot`));
      send({ type: 'sample', sample });
    } else if (c.cmd === 'log') {
      send({ type: 'log', lines: logLines });
    } else if (c.cmd === 'close') {
      break;
    }
  }
  await close();
  send({ type: 'closed' });
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (e: unknown) => {
      send({ type: 'error', message: e instanceof Error ? (e.stack ?? e.message) : String(e) });
      process.exit(1);
    },
  );
}

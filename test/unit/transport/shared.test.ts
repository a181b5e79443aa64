import http from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { FacilityProfile } from '../../../electron/core/profile/schema';
import { SharedTransports } from '../../../electron/core/transport/shared';
import type { OpenTransportOptions } from '../../../electron/core/transport/open';
import type { HubTransport } from '../../../electron/core/transport/transport';

// The pool's bookkeeping, on transports whose loss the test triggers. The real SSH connections,
// a one-time code asked once for sign-in, list and sessions, are in shared-connection.test.ts.

type Fake = HubTransport & { n: number; closed: boolean; lose(): void };

function rig() {
  const made: Fake[] = [];
  const asked: OpenTransportOptions[] = [];
  /** Connections wait for release() when `hold` is set: an opening the test can abort. */
  let hold: { release: () => void; promise: Promise<void> } | undefined;
  const connect = vi.fn(async (_p: FacilityProfile, o: OpenTransportOptions): Promise<HubTransport> => {
    asked.push(o);
    if (hold) {
      const h = hold;
      await Promise.race([
        h.promise,
        new Promise((_, reject) => {
          if (o.signal?.aborted) reject(new Error('aborted'));
          o.signal?.addEventListener('abort', () => reject(new Error('aborted')));
        }),
      ]);
    }
    const listeners = new Set<(r: string) => void>();
    const t: Fake = {
      n: made.length + 1,
      hubUrl: new URL('http://hub.example/'),
      agent: new http.Agent(),
      describe: `ssh #${made.length + 1}`,
      closed: false,
      onLost(l) {
        listeners.add(l);
        return () => listeners.delete(l);
      },
      lose() {
        for (const l of [...listeners]) l('gone');
      },
      async close() {
        t.closed = true;
      },
    };
    made.push(t);
    return t;
  });
  const holdOpens = () => {
    let release!: () => void;
    const promise = new Promise<void>((r) => (release = r));
    hold = { release, promise };
    return () => {
      hold = undefined;
      release();
    };
  };
  return { connect, made, asked, holdOpens };
}

const viaSsh = { schema: 1, id: 'f', name: 'F', hub: { url: 'http://hub.example/' }, ssh: { host: 'gate', port: 22, user: 'u', identityFile: '/k', knownHostsFile: '/kh' }, classes: [] } as unknown as FacilityProfile;
const direct = { ...viaSsh, ssh: undefined } as unknown as FacilityProfile;
const opts = { keychain: {} as OpenTransportOptions['keychain'] };

afterEach(() => vi.useRealTimers());

describe('SharedTransports', () => {
  it('hands one connection to every lease until it is lost, then opens a new one', async () => {
    const { connect, made } = rig();
    const pool = new SharedTransports(connect);
    const a = await pool.lease(viaSsh, opts);
    const b = await pool.lease(viaSsh, opts);
    expect(connect).toHaveBeenCalledTimes(1);
    expect(a.describe).toBe(b.describe);
    // The second found it open: a request failing on it may be the connection's fault (hub-access.ts).
    expect([a.reused, b.reused]).toEqual([false, true]);
    const heard: string[] = [];
    a.onLost!((r) => heard.push(r));
    made[0]!.lose();
    expect(heard).toEqual(['gone']);
    const c = await pool.lease(viaSsh, opts);
    expect(connect).toHaveBeenCalledTimes(2);
    expect(c.describe).toBe('ssh #2');
    expect(c.reused).toBe(false);
    // The lost one closes when its last lease is given back.
    await a.close();
    expect(made[0]!.closed).toBe(false);
    await b.close();
    await b.close(); // twice is once
    expect(made[0]!.closed).toBe(true);
    expect(made[1]!.closed).toBe(false);
  });

  it('keeps a connection open for idleMs after its last lease, then closes it', async () => {
    vi.useFakeTimers();
    const { connect, made } = rig();
    const pool = new SharedTransports(connect, 60_000);
    await (await pool.lease(viaSsh, opts)).close();
    vi.advanceTimersByTime(59_000);
    const again = await pool.lease(viaSsh, opts);
    expect(connect).toHaveBeenCalledTimes(1);
    await again.close();
    vi.advanceTimersByTime(60_001);
    await Promise.resolve();
    expect(made[0]!.closed).toBe(true);
    expect(pool.size).toBe(0);
    await pool.lease(viaSsh, opts);
    expect(connect).toHaveBeenCalledTimes(2);
  });

  it('lets leases asked for while a connection opens wait for it: one opening, its questions', async () => {
    const { connect, asked, holdOpens } = rig();
    const pool = new SharedTransports(connect);
    const release = holdOpens();
    const first = pool.lease(viaSsh, { ...opts, answerPrompts: async () => ['first'] });
    const second = pool.lease(viaSsh, { ...opts, answerPrompts: async () => ['second'] });
    release();
    const [a, b] = await Promise.all([first, second]);
    expect(a.describe).toBe(b.describe);
    expect(connect).toHaveBeenCalledTimes(1);
    expect(await asked[0]!.answerPrompts!({} as never, new AbortController().signal)).toEqual(['first']);
  });

  it('aborts an opening only when every lease waiting for it was aborted', async () => {
    const { connect, asked, holdOpens } = rig();
    const pool = new SharedTransports(connect);
    const release = holdOpens();
    const one = new AbortController();
    const two = new AbortController();
    const a = pool.lease(viaSsh, { ...opts, signal: one.signal });
    const b = pool.lease(viaSsh, { ...opts, signal: two.signal });
    one.abort();
    await expect(a).rejects.toMatchObject({ kind: 'cancelled' });
    expect(asked[0]!.signal!.aborted).toBe(false);
    two.abort();
    await expect(b).rejects.toMatchObject({ kind: 'cancelled' });
    expect(asked[0]!.signal!.aborted).toBe(true);
    // The next lease starts afresh.
    release();
    await pool.lease(viaSsh, opts);
    expect(connect).toHaveBeenCalledTimes(2);
  });

  it('starts afresh for a lease asked right after every waiter gave up, not waiting for the aborted opening to fail', async () => {
    const { connect, made, holdOpens } = rig();
    // A handshake that notices its abort only later (as a real one does, at its next packet).
    let failLate!: () => void;
    const late = new Promise<never>((_, reject) => (failLate = () => reject(new Error('aborted late'))));
    let first = true;
    const pool = new SharedTransports(async (p, o) => {
      if (first) {
        first = false;
        return late;
      }
      return connect(p, o);
    });
    holdOpens()(); // not held
    const overtaken = new AbortController();
    const attempt = pool.lease(viaSsh, { ...opts, signal: overtaken.signal });
    overtaken.abort();
    await expect(attempt).rejects.toMatchObject({ kind: 'cancelled' });
    // The session's next attempt, at once: a connection of its own, not the aborted one's failure.
    const next = await pool.lease(viaSsh, opts);
    expect(next.describe).toBe('ssh #1');
    expect(made).toHaveLength(1);
    failLate();
    await Promise.resolve();
    expect(pool.connected('f')).toBe(true);
  });

  it('closes a connection that opened after everyone waiting for it gave up, once idle', async () => {
    vi.useFakeTimers();
    const { connect, made, holdOpens } = rig();
    // The opening ignores the abort (a handshake past the point of cancelling).
    const pool = new SharedTransports(async (p, o) => connect(p, { ...o, signal: undefined }), 1000);
    const release = holdOpens();
    const gaveUp = new AbortController();
    const waiting = pool.lease(viaSsh, { ...opts, signal: gaveUp.signal });
    gaveUp.abort();
    await expect(waiting).rejects.toMatchObject({ kind: 'cancelled' });
    release();
    await vi.waitFor(() => expect(made).toHaveLength(1));
    expect(made[0]!.closed).toBe(false);
    vi.advanceTimersByTime(1001);
    expect(made[0]!.closed).toBe(true);
  });

  it("with reuse 'open', takes an open connection but never waits for someone else's opening", async () => {
    const { connect, holdOpens } = rig();
    const pool = new SharedTransports(connect);
    const release = holdOpens();
    const asking = pool.lease(viaSsh, opts);
    const quiet = pool.lease(viaSsh, opts, 'open');
    expect(connect).toHaveBeenCalledTimes(2);
    release();
    const [a, q] = await Promise.all([asking, quiet]);
    // The first to finish is the facility's; the other is its lessee's alone, closed when given back.
    expect(a.describe).not.toBe(q.describe);
    expect(pool.size).toBe(1);
    const later = await pool.lease(viaSsh, opts, 'open');
    expect(connect).toHaveBeenCalledTimes(2);
    expect([a.describe, q.describe]).toContain(later.describe);
  });

  it('says when a facility comes to have a connection and when it no longer has one', async () => {
    vi.useFakeTimers();
    const { connect, made } = rig();
    const told: [string, boolean][] = [];
    const pool = new SharedTransports(connect, 1000, (f, c) => told.push([f, c]));
    expect(pool.connected('f')).toBe(false);
    const a = await pool.lease(viaSsh, opts);
    expect(told).toEqual([['f', true]]);
    expect(pool.connected('f')).toBe(true);
    await a.close();
    vi.advanceTimersByTime(1001);
    expect(told).toEqual([['f', true], ['f', false]]);
    await pool.lease(viaSsh, opts);
    made[1]!.lose();
    expect(told.at(-1)).toEqual(['f', false]);
    expect(pool.connected('f')).toBe(false);
    await pool.lease(viaSsh, opts);
    await pool.forget('f');
    expect(told.slice(-2)).toEqual([['f', true], ['f', false]]);
  });

  it('does not share direct transports (a session replaces its agent after a drop)', async () => {
    const { connect } = rig();
    const pool = new SharedTransports(connect);
    await pool.lease(direct, opts);
    await pool.lease(direct, opts);
    expect(connect).toHaveBeenCalledTimes(2);
  });

  it('forgets a facility (signed out): closed now when idle, else with its last lease; the next lease opens anew', async () => {
    const { connect, made } = rig();
    const pool = new SharedTransports(connect);
    await (await pool.lease(viaSsh, opts)).close();
    await pool.forget('f');
    expect(made[0]!.closed).toBe(true);
    const held = await pool.lease(viaSsh, opts);
    await pool.forget('f');
    expect(made[1]!.closed).toBe(false);
    const fresh = await pool.lease(viaSsh, opts);
    expect(fresh.describe).toBe('ssh #3');
    await held.close();
    expect(made[1]!.closed).toBe(true);
    await pool.forget('another');
    expect(made[2]!.closed).toBe(false);
  });

  it('does not share a connection that was still opening when its facility was forgotten', async () => {
    const { connect, made, holdOpens } = rig();
    const pool = new SharedTransports(connect);
    const release = holdOpens();
    const opening = pool.lease(viaSsh, opts);
    await pool.forget('f');
    release();
    const t = await opening;
    expect(pool.size).toBe(0);
    await t.close();
    expect(made[0]!.closed).toBe(true);
  });

  it('closes everything on closeAll, held or not, and refuses later leases', async () => {
    const { connect, made } = rig();
    const pool = new SharedTransports(connect);
    await pool.lease(viaSsh, opts);
    await pool.closeAll();
    expect(made[0]!.closed).toBe(true);
    await expect(pool.lease(viaSsh, opts)).rejects.toMatchObject({ kind: 'cancelled' });
  });

  it('does not share across a changed profile (another gateway for the same facility id)', async () => {
    const { connect } = rig();
    const pool = new SharedTransports(connect);
    await pool.lease(viaSsh, opts);
    await pool.lease({ ...viaSsh, ssh: { ...viaSsh.ssh!, host: 'other-gate' } }, opts);
    expect(connect).toHaveBeenCalledTimes(2);
  });
});

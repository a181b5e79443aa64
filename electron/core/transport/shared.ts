import { RoamlabError } from '../errors';
import type { FacilityProfile } from '../profile/schema';
import type { OpenTransportOptions } from './open';
import type { HubTransport } from './transport';
import { connectionKey, muxSocketFor, serveMux, type MuxServer } from './mux';

/**
 * One SSH connection per facility, shared by everything in the process that talks to its hub —
 * signing in, the servers list, stopping a server, the sessions and their reconnects — as
 * OpenSSH's ControlMaster shares one between `ssh` commands. A gateway that asks for a one-time
 * code after the key then asks once, not for every request; and every request after the first
 * skips the handshake's round trips.
 *
 * - A lease is a HubTransport whose close() gives it back. The connection stays open for
 *   `idleMs` after its last lease is given back (OpenSSH's ControlPersist), then closes.
 * - A connection that is lost by itself (its keepalives unanswered, the gateway gone) leaves
 *   the pool at once; its leases' onLost listeners hear it, and the next lease opens a new one.
 * - Leases asked for while a connection is being opened wait for that one (two sessions
 *   reconnecting after one drop ask for one code, not two). The opening is aborted only when
 *   every lease waiting for it was (an AbortSignal each).
 * - Profiles without SSH are not shared: a direct transport is an HTTP agent, which a session
 *   replaces after a drop to shed the sockets of the old network.
 */
export class SharedTransports {
  private readonly open = new Map<string, Shared>();
  private readonly opening = new Map<string, Opening>();
  private closed = false;

  constructor(
    private readonly connect: (profile: FacilityProfile, o: OpenTransportOptions) => Promise<HubTransport>,
    private readonly idleMs = 5 * 60_000,
    /** Told when a facility comes to have a shared connection, and when it no longer has one. */
    private readonly onChange?: (facilityId: string, connected: boolean) => void,
    /**
     * Where a pooled connection is also offered to roamlab commands in other processes, as a
     * running `roamlab start` offers its own (mux.ts: `$ROAMLAB_HOME/run`); undefined: not offered.
     */
    private readonly shareDir?: string,
  ) {}

  /** Whether the facility has a shared connection now: what it asks next needs no new sign-in to its gateway. */
  connected(facilityId: string): boolean {
    return [...this.open].some(([key, s]) => !s.lost && keyFacility(key) === facilityId);
  }

  /**
   * A transport to the profile's hub: the facility's open connection, or one being opened, or a
   * new one. With `reuse: 'open'`, only an open connection is shared; otherwise this lease opens
   * its own, asking `o`'s questions, and does not wait for (or let others wait for) an opening
   * whose questions are someone else's — for a background refresh that must not ask anyone.
   */
  async lease(profile: FacilityProfile, o: OpenTransportOptions, reuse: 'any' | 'open' = 'any'): Promise<HubTransport> {
    if (this.closed) throw new RoamlabError('cancelled', 'Roamlab is closing.', 'Nothing to do.');
    if (!profile.ssh) return this.connect(profile, o);
    const key = connectionKey(profile, o.user);
    const current = this.open.get(key);
    if (current && !current.lost) return current.lease(true);
    if (reuse === 'open') return this.adopt(key, await this.connect(profile, o)).lease();
    let opening = this.opening.get(key);
    // One whose waiters all gave up is being aborted, and fails once its handshake notices: a
    // new lease (the reconnect that overtook it) must not wait for that failure.
    if (!opening || opening.controller.signal.aborted) {
      const controller = new AbortController();
      const started: Opening = {
        controller,
        waiting: 0,
        done: this.connect(profile, { ...o, signal: controller.signal }).then((t) => this.adopt(key, t, !started.unshared)),
      };
      void started.done
        .finally(() => {
          if (this.opening.get(key) === started) this.opening.delete(key);
        })
        .catch(() => undefined);
      this.opening.set(key, started);
      opening = started;
    }
    return this.wait(opening, o.signal);
  }

  /**
   * Stop sharing the facility's connection (signed out, profile removed): closed now if nobody
   * holds it, else when its last lease is given back. The next lease opens a new one.
   */
  async forget(facilityId: string): Promise<void> {
    const ends: Promise<void>[] = [];
    // One still opening is its waiters' alone, closed with their leases.
    for (const [key, opening] of this.opening) if (keyFacility(key) === facilityId) opening.unshared = true;
    for (const [key, shared] of this.open) {
      if (keyFacility(key) !== facilityId) continue;
      this.open.delete(key);
      this.changed(key);
      ends.push(shared.unshare(), shared.retire());
    }
    await Promise.all(ends);
  }

  /** Close every connection, given back or not (quitting). Later leases are refused. */
  async closeAll(): Promise<void> {
    this.closed = true;
    for (const o of this.opening.values()) o.controller.abort();
    const all = [...this.open.values()];
    this.open.clear();
    await Promise.all(all.map((s) => s.end()));
  }

  private changed(key: string): void {
    const facilityId = keyFacility(key);
    this.onChange?.(facilityId, this.connected(facilityId));
  }

  /** How many connections are open now (for tests and the log). */
  get size(): number {
    return [...this.open.values()].filter((s) => !s.lost).length;
  }

  private async wait(opening: Opening, signal: AbortSignal | undefined): Promise<HubTransport> {
    opening.waiting++;
    let onAbort: (() => void) | undefined;
    try {
      const aborted = new Promise<never>((_, reject) => {
        onAbort = () => {
          // The last one waiting stops the opening (a reconnect overtaken by a network change).
          if (--opening.waiting === 0) opening.controller.abort();
          onAbort = undefined;
          reject(new RoamlabError('cancelled', 'Connecting was cancelled.', 'Nothing to do.'));
        };
        if (signal?.aborted) onAbort();
        else signal?.addEventListener('abort', onAbort, { once: true });
      });
      const shared = await Promise.race([opening.done, aborted]);
      return shared.lease();
    } finally {
      if (onAbort) {
        opening.waiting--;
        signal?.removeEventListener('abort', onAbort);
      }
    }
  }

  /** A new connection joins the pool — unless one for the facility is there, then it is its lessee's alone. */
  private adopt(key: string, t: HubTransport, share = true): Shared {
    const there = this.open.get(key);
    const pooled = share && !this.closed && (!there || there.lost);
    const shared = new Shared(t, pooled ? this.idleMs : 0, () => {
      if (this.open.get(key) !== shared) return;
      this.open.delete(key);
      this.changed(key);
    });
    if (pooled) {
      this.open.set(key, shared);
      this.changed(key);
      if (this.shareDir) shared.share(muxSocketFor(this.shareDir, key));
    }
    return shared;
  }
}

interface Opening {
  controller: AbortController;
  /** Leases waiting for it that have not been aborted. */
  waiting: number;
  /** The facility was forgotten meanwhile: the connection is not shared once open. */
  unshared?: boolean;
  done: Promise<Shared>;
}

function keyFacility(key: string): string {
  return (JSON.parse(key) as [string])[0];
}

/** One shared connection and its leases. */
class Shared {
  private leases = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  private ended = false;
  /** Offered to roamlab commands in other processes (mux.ts), while pooled. */
  private mux: Promise<MuxServer | undefined> | undefined;
  lost = false;

  constructor(
    private readonly inner: HubTransport,
    /** How long it stays open with no lease; 0: closed with its last lease (not pooled). */
    private idleMs: number,
    private readonly leave: () => void,
  ) {
    inner.onLost?.(() => {
      this.lost = true;
      this.left();
      // Nobody holds it: nobody will close it.
      if (this.leases === 0) void this.end();
    });
    // Unused from the start (everyone who waited for it gave up): it idles like one given back.
    this.idle();
  }

  /**
   * Offer the connection at `socket` to roamlab commands in other processes: each stream there
   * is a new channel to the hub under a lease of its own, given back when the command's end of
   * the stream closes, so the connection stays open while a command uses it.
   */
  share(socket: string | undefined): void {
    if (!socket || !this.inner.forward || this.mux) return;
    this.mux = serveMux(socket, async (closed) => {
      if (this.lost || this.ended) throw new Error('the connection is closing');
      const lease = this.lease(true);
      void closed.then(() => lease.close());
      return lease.forward!();
    }).catch(() => undefined);
  }

  /** No longer offered to other processes (out of the pool, or closing). */
  async unshare(): Promise<void> {
    const mux = this.mux;
    this.mux = undefined;
    await (await mux)?.close();
  }

  /** Out of the pool, and no longer offered to other processes. */
  private left(): void {
    void this.unshare();
    this.leave();
  }

  /** `reused`: the connection was open before this lease asked for it (HubTransport.reused). */
  lease(reused = false): HubTransport {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    this.leases++;
    const inner = this.inner;
    let given = false;
    const give = async () => {
      if (given) return;
      given = true;
      await this.giveBack();
    };
    return {
      get hubUrl() {
        return inner.hubUrl;
      },
      get agent() {
        return inner.agent;
      },
      get describe() {
        return inner.describe;
      },
      get linkStart() {
        return inner.linkStart;
      },
      get rttMs() {
        return inner.rttMs;
      },
      reused,
      forward: inner.forward ? () => inner.forward!() : undefined,
      close: give,
      onLost: inner.onLost ? (listener) => inner.onLost!(listener) : undefined,
    };
  }

  /** Out of the pool: closed now if nobody holds it, else with its last lease. */
  async retire(): Promise<void> {
    this.idleMs = 0;
    if (this.leases === 0) await this.end();
  }

  private async giveBack(): Promise<void> {
    if (--this.leases > 0) return;
    if (this.lost || this.idleMs === 0) return this.end();
    this.idle();
  }

  /** Closed after idleMs unless leased meanwhile (not pooled: at the next turn). */
  private idle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      this.left();
      void this.end();
    }, this.idleMs);
    this.idleTimer.unref();
  }

  async end(): Promise<void> {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    if (this.ended) return;
    this.ended = true;
    this.left();
    await this.inner.close().catch(() => undefined);
  }
}

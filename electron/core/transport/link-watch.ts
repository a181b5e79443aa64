/**
 * When is a silent SSH connection dead? Fixed keepalive limits cannot serve every link: the 2.4 s
 * that notices a dropped Wi-Fi quickly on a good network would tear down, every few seconds and
 * for good, a connection over a slow one (a congested hotel network, a phone in a train, a
 * satellite link), where the reply to a keepalive takes longer than that. So the limit follows the
 * link: keepalive replies are timed, and a connection counts as dead only after it has been silent
 * for the keepalive interval plus several of its own round trips — and never sooner than the
 * fixed limit, so fast links keep their fast detection.
 *
 * Round trips are sampled from the keepalives themselves: each is a global request the gateway
 * answers at once, and answers come in the order of the requests (RFC 4254 §4), so the time from
 * a keepalive to the next answer is one round trip, plus whatever queued ahead of it — which is
 * what the next reply will wait behind too. The first estimate is the SSH handshake divided by
 * its round trips, timed from the TCP connect's completion: not the connect itself, which takes
 * seconds when a SYN was lost — as it is while the session reconnects over a link that is just
 * coming back — and would hold a fast link's detection at many seconds until keepalives correct
 * it (a busy link sends none).
 */

/** Round trips a silent link is given beyond the keepalive interval before it counts as dead. */
export const RTTS_BEFORE_DEAD = 3;

/**
 * Round trips from TCP connected to SSH ready with publickey auth: version and KEXINIT, key
 * exchange, NEWKEYS and the service request, the key offered, the signature. A low count: the
 * estimate it gives errs long, which only slows noticing a dead link until keepalives are timed.
 */
export const HANDSHAKE_ROUND_TRIPS = 5;

/** How long the gateway may stay silent before the connection counts as lost: the fixed limit
 * (`intervalMs × (countMax + 1)`, what ssh2 and OpenSSH's ServerAlive* give), or, on a link
 * slower than that allows for, one interval plus `RTTS_BEFORE_DEAD` round trips.
 */
export function deadAfterMs(intervalMs: number, countMax: number, rttMs: number): number {
  return Math.max(intervalMs * (countMax + 1), intervalMs + RTTS_BEFORE_DEAD * rttMs);
}

/**
 * A round-trip estimate that rises at once with a slower sample and falls slowly (1/8 per sample,
 * as TCP's smoothed RTT): one quick reply on a congested link must not make the next slow one
 * look like a dead link.
 */
export class RttEstimate {
  private value: number;

  constructor(firstMs = 0) {
    this.value = Math.max(0, firstMs);
  }

  get ms(): number {
    return this.value;
  }

  sample(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    this.value = ms >= this.value ? ms : this.value + (ms - this.value) / 8;
  }
}

export interface SilenceWatch {
  stop(): void;
}

/**
 * Call `onDead` once `sock` has brought nothing for `deadAfterMs(intervalMs, countMax, rttMs())`.
 * A check woken more than a second late means this process was stopped or its thread held (the
 * laptop slept, a debugger), not waiting on the link: that time is not the gateway's silence; the
 * keepalive due now asks the link, and the session checks it after a sleep (session.ts).
 */
export function watchSilence(sock: { on(event: 'data', listener: () => void): unknown }, intervalMs: number, countMax: number, rttMs: () => number, onDead: () => void): SilenceWatch {
  let lastReadAt = performance.now();
  let dueAt: number | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  sock.on('data', () => {
    lastReadAt = performance.now();
  });
  const check = () => {
    if (stopped) return;
    const now = performance.now();
    if (dueAt !== undefined && now - dueAt > 1000) lastReadAt += now - dueAt;
    const limit = deadAfterMs(intervalMs, countMax, rttMs());
    const silent = now - lastReadAt;
    if (silent >= limit) return onDead();
    const wait = limit - silent + 1;
    dueAt = now + wait;
    timer = setTimeout(check, wait);
    timer.unref();
  };
  check();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

/** The ssh2 internals `timeKeepalives` uses; checked at run time, so a changed ssh2 only loses the samples. */
interface Ssh2Client {
  _protocol?: {
    ping?: (...args: unknown[]) => unknown;
    _handlers?: Record<string, ((...args: unknown[]) => unknown) | undefined>;
  };
  /** Callbacks of the global requests awaiting an answer, oldest first. */
  _callbacks?: unknown[];
  /** The callback ssh2 queues for each keepalive it sends. */
  _resetKA?: unknown;
}

/**
 * Time every keepalive ssh2 sends on `client` to its answer and pass the round trip to `onSample`.
 * ssh2 has no public hook for either; this wraps its protocol's `ping()` and the handlers of the
 * two answers. An answer is a keepalive's when the oldest request awaiting one is a keepalive
 * (ssh2 queues its `_resetKA` for each): others, such as ssh2's proof of the gateway's host keys
 * just after connecting, pass by without taking a keepalive's send time. Returns false when the
 * internals are not what this version expects.
 */
export function timeKeepalives(client: unknown, onSample: (ms: number) => void): boolean {
  const c = client as Ssh2Client;
  const proto = c._protocol;
  const ping = proto?.ping;
  const handlers = proto?._handlers;
  if (!proto || typeof ping !== 'function' || !handlers || !Array.isArray(c._callbacks) || typeof c._resetKA !== 'function') return false;
  const sentAt: number[] = [];
  proto.ping = function (this: unknown, ...args: unknown[]) {
    sentAt.push(performance.now());
    return ping.apply(this, args);
  };
  for (const name of ['REQUEST_SUCCESS', 'REQUEST_FAILURE']) {
    const handler = handlers[name];
    handlers[name] = function (this: unknown, ...args: unknown[]) {
      if (c._callbacks?.[0] === c._resetKA) {
        const t0 = sentAt.shift();
        if (t0 !== undefined) onSample(performance.now() - t0);
      }
      return handler?.apply(this, args);
    };
  }
  return true;
}

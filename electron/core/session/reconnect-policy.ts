/**
 * When to try again after the link to the hub is lost, and the words a person reads meanwhile.
 * Pure: numbers and strings in, numbers and strings out; the supervisor owns the clock.
 */

export interface BackoffOptions {
  /** Delay before the second attempt (the first is immediate), ms. Default 1000. */
  baseMs?: number;
  /** Cap on the delay, ms. Default 30000. */
  capMs?: number;
  /** Share of the delay drawn at random either way, 0–1. Default 0.2. */
  jitter?: number;
}

/**
 * Delay before reconnect attempt `attempt` (1-based): 0 for the first, then base·2^(n−2), capped,
 * with ±jitter so many laptops waking at once do not knock together. `random` is Math.random's
 * contract (0 ≤ r < 1).
 */
export function backoffDelayMs(attempt: number, random: () => number = Math.random, o: BackoffOptions = {}): number {
  if (attempt <= 1) return 0;
  const base = o.baseMs ?? 1000;
  const cap = o.capMs ?? 30_000;
  const jitter = o.jitter ?? 0.2;
  const raw = Math.min(cap, base * 2 ** Math.min(attempt - 2, 30));
  const spread = raw * jitter * (2 * random() - 1);
  return Math.max(0, Math.min(cap, Math.round(raw + spread)));
}

/** Why the link went away, as the supervisor learned it. */
export type LossCause =
  /** The OS said the network is gone (Electron's net/online events). */
  | 'network-down'
  /** The SSH connection ended: keepalives unanswered, reset, the gateway closed it. */
  | 'ssh-lost'
  /** The hub stopped answering through a link that still looks up. */
  | 'hub-unreachable'
  /** The laptop slept (a gap in timers, or the OS's resume signal). */
  | 'sleep';

export function lossReason(cause: LossCause, detail?: string): string {
  switch (cause) {
    case 'network-down':
      return 'network lost';
    case 'ssh-lost':
      return detail ? `connection lost (${detail})` : 'connection lost';
    case 'hub-unreachable':
      return detail ? `the hub is not answering (${detail})` : 'the hub is not answering';
    case 'sleep':
      return 'the computer was asleep';
  }
}

/** "12 s", "3 min 5 s", "1 h 2 min": coarse enough to read at a glance. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m} min ${s % 60} s` : `${m} min`;
  const h = Math.floor(m / 60);
  return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
}

/** "network lost 12 s ago — reconnecting, next try in 2 s" */
export function reconnectingReason(o: { lossReason: string; downForMs: number; nextTryInMs?: number; trying: boolean; lastError?: string }): string {
  const head = `${capitalize(o.lossReason)} ${formatDuration(o.downForMs)} ago`;
  if (o.trying) return `${head} — reconnecting…`;
  const next = o.nextTryInMs !== undefined ? `, next try in ${formatDuration(Math.max(1000, o.nextTryInMs))}` : '';
  const why = o.lastError ? ` (last try: ${o.lastError})` : '';
  return `${head} — reconnecting${next}${why}`;
}

/** "Back — 3 s offline" */
export function backReason(downForMs: number): string {
  return `Back — ${formatDuration(downForMs)} offline`;
}

/**
 * Whether a drop deserves a native notification: only one that lasted longer than a blink, or
 * one that ended the session. Short drops show in the window only.
 */
export function shouldNotifyDrop(downForMs: number, thresholdMs = 5000): boolean {
  return downForMs >= thresholdMs;
}

function capitalize(s: string): string {
  return s ? s[0]!.toUpperCase() + s.slice(1) : s;
}

/** A native notification about the connection, for the shell to show as is. */
export interface ConnectionNotice {
  kind: 'lost' | 'back';
  title: string;
  body: string;
}

/**
 * What to tell the person outside the window about a drop, if anything: once when a drop has
 * lasted `thresholdMs` (default 5 s) — "lost, reconnecting" — and once when a drop that was told
 * about is over. Short drops stay in the window. (An ended session has its own notification.)
 * `toldLost` is whether the "lost" notice was given for this drop.
 */
export function connectionNotice(o: {
  facilityName: string;
  state: 'ready' | 'degraded' | 'reconnecting' | string;
  downForMs: number;
  toldLost: boolean;
  thresholdMs?: number;
}): ConnectionNotice | undefined {
  const threshold = o.thresholdMs ?? 5000;
  if ((o.state === 'degraded' || o.state === 'reconnecting') && !o.toldLost && shouldNotifyDrop(o.downForMs, threshold)) {
    return {
      kind: 'lost',
      title: `${o.facilityName}: connection lost`,
      body: `Reconnecting by itself for ${formatDuration(o.downForMs)} now. Your server and kernels keep running; the Lab window comes back where it was.`,
    };
  }
  if (o.state === 'ready' && o.toldLost) {
    return { kind: 'back', title: `${o.facilityName}: back`, body: `Reconnected after ${formatDuration(o.downForMs)} offline; the Lab window carries on.` };
  }
  return undefined;
}

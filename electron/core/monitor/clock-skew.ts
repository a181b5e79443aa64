/**
 * How far the hub's clock is from ours. The hub states a server's start time in its own clock;
 * a laptop's clock can be minutes off (no NTP on a train), which would move every runtime warning
 * by as much. Every HTTP answer carries a `Date` header, so each poll measures the offset for free.
 *
 * Convention: skewMs = hub time − local time (positive when the hub is ahead).
 */

export interface SkewSample {
  /** Estimated hub time − local time at the moment of the answer. */
  skewMs: number;
  /** Half the round trip plus half a second of Date's resolution: how wrong this sample can be. */
  uncertaintyMs: number;
}

/**
 * One skew measurement from a Date header and the local send and receive times of its request.
 *
 * The hub stamped the header somewhere between send and receive; the midpoint is our best guess of
 * when, in local time. Date has one-second resolution and is truncated (14:32:07.900 is sent as
 * 14:32:07), so the hub's true time was on average half a second later than the header says.
 * Undefined when the header is missing or unreadable, or the times are out of order.
 */
export function skewFromDate(dateHeader: string | string[] | undefined, sentAt: number, receivedAt: number): SkewSample | undefined {
  const value = Array.isArray(dateHeader) ? dateHeader[0] : dateHeader;
  if (!value) return undefined;
  const hubSecond = Date.parse(value);
  if (Number.isNaN(hubSecond) || receivedAt < sentAt) return undefined;
  const localMid = (sentAt + receivedAt) / 2;
  return { skewMs: hubSecond + 500 - localMid, uncertaintyMs: (receivedAt - sentAt) / 2 + 500 };
}

export interface ClockSkewOptions {
  /** How many recent samples the median is taken over (default 9). */
  window?: number;
  /** Samples from requests slower than this are dropped: their midpoint says too little (default 5 s). */
  maxRoundTripMs?: number;
}

/**
 * A running estimate: the median of the most recent samples. The median shrugs off the odd slow
 * answer and the one-second jitter of Date, and follows a real clock step (NTP catching up after
 * sleep) once half the window has seen it.
 */
export class ClockSkew {
  private readonly samples: number[] = [];
  private readonly window: number;
  private readonly maxRoundTripMs: number;

  constructor(o: ClockSkewOptions = {}) {
    this.window = Math.max(1, o.window ?? 9);
    this.maxRoundTripMs = o.maxRoundTripMs ?? 5_000;
  }

  /** Feed one answer. Returns whether it was used. */
  observe(dateHeader: string | string[] | undefined, sentAt: number, receivedAt: number): boolean {
    if (receivedAt - sentAt > this.maxRoundTripMs) return false;
    const s = skewFromDate(dateHeader, sentAt, receivedAt);
    if (!s) return false;
    this.samples.push(s.skewMs);
    if (this.samples.length > this.window) this.samples.shift();
    return true;
  }

  /** hub − local in ms; 0 until the first sample (assume the clocks agree). */
  get skewMs(): number {
    if (this.samples.length === 0) return 0;
    const sorted = [...this.samples].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  }

  get sampleCount(): number {
    return this.samples.length;
  }
}

/**
 * Milliseconds of runtime left for a server started at `startedIso` (the hub's clock, as the hub's
 * server model reports it) with a limit of `runtimeHours`, at local time `nowLocal`. Negative once
 * the runtime is over; undefined when the start time is unreadable or the runtime not positive.
 */
export function runtimeLeftMs(startedIso: string, runtimeHours: number, nowLocal: number, skewMs: number): number | undefined {
  const started = Date.parse(startedIso);
  if (Number.isNaN(started) || !(runtimeHours > 0)) return undefined;
  const endHub = started + runtimeHours * 3_600_000;
  return endHub - (nowLocal + skewMs);
}

/** The local time at which a runtime limit ends (for "stopped at 14:32"). */
export function runtimeEndLocal(startedIso: string, runtimeHours: number, skewMs: number): number | undefined {
  const started = Date.parse(startedIso);
  if (Number.isNaN(started) || !(runtimeHours > 0)) return undefined;
  return started + runtimeHours * 3_600_000 - skewMs;
}

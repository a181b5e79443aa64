import * as z from '../../common/zod';
import { RoamlabError } from '../errors';
import { runtimeEndLocal } from './clock-skew';
import { BYTES_PER_GB, memoryPercent, type LimitSource, type MetricsSample } from './metrics';

/**
 * When to warn about memory and runtime, and in which words. Pure: plain data in, events out; the
 * clock is whatever the caller passes. LimitsMonitor feeds it; the shell turns events into native
 * notifications.
 */

// ---------------------------------------------------------------------------------------------
// Thresholds

export interface LimitThresholds {
  /** Memory warning at this share of the limit (default 80). */
  memoryWarningPercent: number;
  /** Memory critical at this share of the limit (default 95). */
  memoryCriticalPercent: number;
  /** Memory must fall this many points below a threshold before it can fire again (default 5). */
  hysteresisPoints: number;
  /** Also warn when the server's own jupyter-resource-usage says memory is near the limit (default true). */
  useServerWarn: boolean;
  /** Runtime left at which to warn, in ms, most distant first (default 30, 10 and 5 minutes). */
  runtimeMarksMs: number[];
}

export const DEFAULT_THRESHOLDS: Readonly<LimitThresholds> = Object.freeze({
  memoryWarningPercent: 80,
  memoryCriticalPercent: 95,
  hysteresisPoints: 5,
  useServerWarn: true,
  runtimeMarksMs: [30 * 60_000, 10 * 60_000, 5 * 60_000],
});

/** What a person may override per facility; anything left out keeps its default. */
export const thresholdOverridesSchema = z.strictObject({
  memoryWarningPercent: z.optional(z.number().check(z.gt(0), z.lt(100))),
  memoryCriticalPercent: z.optional(z.number().check(z.gt(0), z.maximum(100))),
  hysteresisPoints: z.optional(z.number().check(z.minimum(0), z.maximum(50))),
  useServerWarn: z.optional(z.boolean()),
  runtimeMarksMs: z.optional(z.array(z.int().check(z.positive())).check(z.maxLength(10))),
});
export type ThresholdOverrides = z.infer<typeof thresholdOverridesSchema>;

/** Defaults merged with overrides, checked: warning below critical, marks unique and sorted most distant first. */
export function resolveThresholds(overrides: ThresholdOverrides = {}): LimitThresholds {
  const parsed = thresholdOverridesSchema.safeParse(overrides);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new RoamlabError(
      'usage',
      `The limit warning settings are not valid (${issue ? `${issue.path.join('.') || 'settings'}: ${issue.message}` : 'unreadable'}).`,
      'Reset the warning thresholds of this facility to their defaults.',
    );
  }
  const o = parsed.data;
  const t: LimitThresholds = {
    memoryWarningPercent: o.memoryWarningPercent ?? DEFAULT_THRESHOLDS.memoryWarningPercent,
    memoryCriticalPercent: o.memoryCriticalPercent ?? DEFAULT_THRESHOLDS.memoryCriticalPercent,
    hysteresisPoints: o.hysteresisPoints ?? DEFAULT_THRESHOLDS.hysteresisPoints,
    useServerWarn: o.useServerWarn ?? DEFAULT_THRESHOLDS.useServerWarn,
    runtimeMarksMs: [...new Set(o.runtimeMarksMs ?? DEFAULT_THRESHOLDS.runtimeMarksMs)].sort((a, b) => b - a),
  };
  if (t.memoryWarningPercent >= t.memoryCriticalPercent) {
    throw new RoamlabError(
      'usage',
      `The memory warning (${t.memoryWarningPercent} %) must come before the critical warning (${t.memoryCriticalPercent} %).`,
      'Set the warning below the critical threshold.',
    );
  }
  return t;
}

// ---------------------------------------------------------------------------------------------
// Events

export type LimitLevel = 'warning' | 'critical';
export type LimitAction = 'open-class-picker' | 'save';

interface LimitEventBase {
  level: LimitLevel;
  /** A notification's title, e.g. "Memory at 83 % — Large class". */
  title: string;
  /** What happened and what to do, in a sentence or two. */
  body: string;
  /** What the notification's button offers. */
  action?: LimitAction;
  /** Local time of the observation that fired it. */
  at: number;
  classLabel: string;
}

export interface MemoryLimitEvent extends LimitEventBase {
  kind: 'memory';
  /** Memory use as a share of the limit, unrounded. */
  percent: number;
  usedBytes: number;
  limitBytes: number;
  limitSource: LimitSource;
  /** The threshold that fired, in percent (the warning's even when only the server's flag said so). */
  thresholdPercent: number;
  /** The server's own warn flag was set. */
  serverWarn: boolean;
}

export interface RuntimeLimitEvent extends LimitEventBase {
  kind: 'runtime';
  /** Runtime left when it fired (negative once over). */
  leftMs: number;
  /** The mark that fired. */
  markMs: number;
  /** Local time at which the runtime ends. */
  endsAt: number;
}

export type LimitEvent = MemoryLimitEvent | RuntimeLimitEvent;

// ---------------------------------------------------------------------------------------------
// Words

/** "Large" → "Large class"; a label that already says "class" is left alone. */
export function classPhrase(label: string): string {
  return /\bclass$/i.test(label.trim()) ? label.trim() : `${label.trim()} class`;
}

/** Whole percent as shown: rounded down (a warning never claims the critical share), robust to float noise. */
export function shownPercent(pct: number): number {
  return Math.floor(pct + 1e-6);
}

function trimmed(n: number, decimals: number): string {
  return String(Number(n.toFixed(decimals)));
}

/** "39.8 of 48 GB", or in MB below one GB of limit ("330 of 400 MB"). */
export function formatMemoryOf(usedBytes: number, limitBytes: number): string {
  if (limitBytes >= BYTES_PER_GB) return `${(usedBytes / BYTES_PER_GB).toFixed(1)} of ${trimmed(limitBytes / BYTES_PER_GB, 1)} GB`;
  const mb = 1024 ** 2;
  return `${Math.round(usedBytes / mb)} of ${Math.round(limitBytes / mb)} MB`;
}

/** "10 minutes", "1 minute", "45 seconds", "2.5 hours". */
export function formatDuration(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  if (s < 59.5) {
    const n = Math.max(1, Math.round(s));
    return `${n} second${n === 1 ? '' : 's'}`;
  }
  const min = Math.round(s / 60);
  if (min < 120) return `${min} minute${min === 1 ? '' : 's'}`;
  return `${trimmed(min / 60, 1)} hours`;
}

/**
 * Local wall-clock time, 24-hour, to the nearest minute: "14:32". Nearest, not truncated: the
 * end time is only known to about a second (Date's resolution), and 14:31:59.6 means 14:32.
 */
export function formatClock(ms: number): string {
  const d = new Date(Math.round(ms / 60_000) * 60_000);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

// ---------------------------------------------------------------------------------------------
// The tracker

export interface LimitsTrackerOptions {
  classLabel: string;
  thresholds?: LimitThresholds;
  /** How to print a local time in a message (default formatClock). */
  formatTime?: (localMs: number) => string;
}

/**
 * Which warnings are due, fed one observation at a time. Every threshold fires once per crossing:
 * a memory threshold re-arms only after use falls `hysteresisPoints` below it, so a value
 * hovering at 80 % does not chime every five seconds. Runtime only runs out, so each mark fires
 * once, in order. A jump past several thresholds at once (a big allocation, a laptop waking after
 * an hour) fires only the most urgent of them, and counts the rest as fired.
 */
export class LimitsTracker {
  readonly thresholds: LimitThresholds;
  private readonly classLabel: string;
  private readonly formatTime: (ms: number) => string;
  private warningFired = false;
  private criticalFired = false;
  /** How many runtime marks (most distant first) have fired. */
  private marksFired = 0;

  constructor(o: LimitsTrackerOptions) {
    this.classLabel = o.classLabel;
    this.thresholds = o.thresholds ?? resolveThresholds();
    this.formatTime = o.formatTime ?? formatClock;
  }

  onMemory(sample: MetricsSample): LimitEvent[] {
    const pct = memoryPercent(sample);
    if (pct === undefined) return [];
    const t = this.thresholds;
    const serverWarn = t.useServerWarn && sample.serverWarn;

    if (this.criticalFired && pct < t.memoryCriticalPercent - t.hysteresisPoints) this.criticalFired = false;
    if (this.warningFired && !serverWarn && pct < t.memoryWarningPercent - t.hysteresisPoints) this.warningFired = false;

    if (pct >= t.memoryCriticalPercent) {
      if (this.criticalFired) return [];
      // The critical warning says all the warning would have, and more: one notification, not two.
      this.criticalFired = true;
      this.warningFired = true;
      return [this.memoryEvent('critical', sample, pct, t.memoryCriticalPercent)];
    }
    if ((pct >= t.memoryWarningPercent || serverWarn) && !this.warningFired) {
      this.warningFired = true;
      return [this.memoryEvent('warning', sample, pct, t.memoryWarningPercent)];
    }
    return [];
  }

  /**
   * The runtime mark (ms left) that fires next, or undefined when every mark has fired. The
   * monitor sets a timer for it, so a mark is told on time even between slow polls.
   */
  nextMarkMs(): number | undefined {
    return this.thresholds.runtimeMarksMs[this.marksFired];
  }

  /** `leftMs` of runtime at local time `now` (see runtimeLeftMs). */
  onRuntime(leftMs: number, now: number): LimitEvent[] {
    const marks = this.thresholds.runtimeMarksMs;
    // Marks are sorted most distant first, so those already reached are a prefix.
    let reached = 0;
    while (reached < marks.length && leftMs <= marks[reached]!) reached++;
    if (reached <= this.marksFired) return [];
    this.marksFired = reached;
    const index = reached - 1;
    const level: LimitLevel = index === marks.length - 1 ? 'critical' : 'warning';
    return [this.runtimeEvent(level, leftMs, marks[index]!, now)];
  }

  private memoryEvent(level: LimitLevel, s: MetricsSample, pct: number, thresholdPercent: number): MemoryLimitEvent {
    const cls = classPhrase(this.classLabel);
    const of = formatMemoryOf(s.rssBytes, s.limitBytes);
    const shown = shownPercent(pct);
    const critical = level === 'critical';
    return {
      kind: 'memory',
      level,
      title: `Memory at ${shown} % — ${cls}`,
      body: critical
        ? `Save your work now: the notebook server uses ${of} and is stopped above the limit. A bigger class gives it more room.`
        : `Save your work: the notebook server uses ${of}. It is stopped above the limit.`,
      action: critical ? 'open-class-picker' : 'save',
      at: s.at,
      classLabel: this.classLabel,
      percent: pct,
      usedBytes: s.rssBytes,
      limitBytes: s.limitBytes,
      limitSource: s.limitSource,
      thresholdPercent,
      serverWarn: s.serverWarn,
    };
  }

  private runtimeEvent(level: LimitLevel, leftMs: number, markMs: number, now: number): RuntimeLimitEvent {
    const cls = classPhrase(this.classLabel);
    const endsAt = now + leftMs;
    const over = leftMs <= 0;
    return {
      kind: 'runtime',
      level,
      title: over ? `Runtime over — ${cls}` : `${capitalize(formatDuration(leftMs))} left — ${cls}`,
      body: over
        ? `The runtime of the ${cls} is over — save your work now; the server is stopped any moment.`
        : `${capitalize(formatDuration(leftMs))} left in the ${cls} — save your work; the server is stopped at ${this.formatTime(endsAt)}.`,
      action: 'save',
      at: now,
      classLabel: this.classLabel,
      leftMs,
      markMs,
      endsAt,
    };
  }
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

// ---------------------------------------------------------------------------------------------
// After the end

export type EndCause = 'runtime' | 'memory' | 'stopped';

export interface PostMortemInput {
  lastSample?: MetricsSample;
  /** The server's start, in the hub's clock (ISO). */
  started?: string | null;
  runtimeHours?: number;
  /** Local time the end was noticed. */
  endedAt: number;
  /** hub − local, ms. */
  skewMs: number;
  classLabel?: string;
  thresholds?: LimitThresholds;
  /** How close to the runtime's end counts as "the runtime ran out" (default 2 minutes). */
  toleranceMs?: number;
  formatTime?: (localMs: number) => string;
}

export interface PostMortem {
  cause: EndCause;
  /** One or two sentences a person reads after the Lab window went dead. */
  message: string;
  lastSample?: MetricsSample;
  /** Local time the end was noticed. */
  at: number;
}

/**
 * Why did the server end? The runtime, when the end came at (or, noticed late after sleep,
 * after) started + runtime; memory, when the last reading was at the critical share of the
 * limit; otherwise someone or something stopped it at the hub (the person, an admin, the culler).
 */
export function postMortem(input: PostMortemInput): PostMortem {
  const t = input.thresholds ?? resolveThresholds();
  const fmt = input.formatTime ?? formatClock;
  const tolerance = input.toleranceMs ?? 2 * 60_000;
  const cls = input.classLabel ? classPhrase(input.classLabel) : undefined;
  const base = { at: input.endedAt, ...(input.lastSample ? { lastSample: input.lastSample } : {}) };

  const end = input.started && input.runtimeHours ? runtimeEndLocal(input.started, input.runtimeHours, input.skewMs) : undefined;
  if (end !== undefined && input.endedAt >= end - tolerance) {
    return {
      ...base,
      cause: 'runtime',
      message: `The server reached its runtime limit of ${formatDuration(input.runtimeHours! * 3_600_000)}${cls ? ` in the ${cls}` : ''} at ${fmt(end)} and was stopped by the facility. Start it again to continue; saved notebooks are kept.`,
    };
  }

  const s = input.lastSample;
  const pct = s ? memoryPercent(s) : undefined;
  if (s && pct !== undefined && pct >= t.memoryCriticalPercent) {
    return {
      ...base,
      cause: 'memory',
      message: `The server most likely ran out of memory: it last used ${formatMemoryOf(s.rssBytes, s.limitBytes)} (${shownPercent(pct)} %). Start it again in a bigger class, or load less data at once.`,
    };
  }

  return {
    ...base,
    cause: 'stopped',
    message: 'The server was stopped from the hub or culled after being idle. Start it again to continue; saved notebooks are kept.',
  };
}

// ---------------------------------------------------------------------------------------------
// Polling

export interface PollIntervals {
  visibleMs: number;
  hiddenMs: number;
}

export const DEFAULT_POLL_INTERVALS: Readonly<PollIntervals> = Object.freeze({ visibleMs: 5_000, hiddenMs: 30_000 });

/**
 * How long until the next poll: often while the person looks at the Lab window (its numbers are
 * on screen), rarely while it is hidden, and not at all while the session reconnects (every
 * request would fail, and the supervisor owns the network then). null means paused.
 */
export function pollIntervalMs(state: { visible: boolean; reconnecting: boolean }, intervals: PollIntervals = DEFAULT_POLL_INTERVALS): number | null {
  if (state.reconnecting) return null;
  return state.visible ? intervals.visibleMs : intervals.hiddenMs;
}

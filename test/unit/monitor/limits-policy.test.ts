import { describe, expect, it } from 'vitest';
import { RoamlabError } from '../../../electron/core/errors';
import {
  DEFAULT_THRESHOLDS,
  LimitsTracker,
  classPhrase,
  formatDuration,
  formatMemoryOf,
  pollIntervalMs,
  postMortem,
  resolveThresholds,
  type LimitEvent,
} from '../../../electron/core/monitor/limits-policy';
import { BYTES_PER_GB, type MetricsSample } from '../../../electron/core/monitor/metrics';

const GB = BYTES_PER_GB;
const MIN = 60_000;
const t0 = Date.parse('2025-03-04T12:00:00Z');
const clock = (ms: number): string => new Date(ms).toISOString().slice(11, 16); // UTC, so the test does not depend on TZ

function sample(percent: number, o: Partial<MetricsSample> = {}): MetricsSample {
  const limitBytes = o.limitBytes ?? 48 * GB;
  return { at: t0, rssBytes: Math.round((percent / 100) * limitBytes), limitBytes, limitSource: 'server', serverWarn: false, ...o };
}

/** Feed a series of percentages; return the levels that fired, in order. */
function feed(tracker: LimitsTracker, series: number[], o: Partial<MetricsSample> = {}): LimitEvent[] {
  return series.flatMap((p) => tracker.onMemory(sample(p, o)));
}

const levels = (evs: LimitEvent[]): string[] => evs.map((e) => `${e.kind}:${e.level}`);

describe('memory thresholds', () => {
  it('a rising series fires exactly one warning, then one critical', () => {
    const t = new LimitsTracker({ classLabel: 'Large' });
    const evs = feed(t, [10, 40, 70, 79.9, 80, 82, 85, 90, 94.9, 95, 97, 99, 99.5]);
    expect(levels(evs)).toEqual(['memory:warning', 'memory:critical']);
    expect(evs.map((e) => e.kind === 'memory' && e.thresholdPercent)).toEqual([80, 95]);
  });

  it('hovering at a threshold does not chime again; it re-fires only after falling 5 points below', () => {
    const t = new LimitsTracker({ classLabel: 'Large' });
    expect(levels(feed(t, [81, 79, 80.5, 76, 81, 75.1, 82]))).toEqual(['memory:warning']);
    // Below 75 re-arms the warning; rising again fires it once more.
    expect(levels(feed(t, [74.9, 78, 80, 83]))).toEqual(['memory:warning']);
  });

  it('the critical re-arms below 90 %, without repeating the warning on the way up', () => {
    const t = new LimitsTracker({ classLabel: 'Large' });
    expect(levels(feed(t, [85, 96, 91, 96]))).toEqual(['memory:warning', 'memory:critical']);
    expect(levels(feed(t, [89, 92, 96]))).toEqual(['memory:critical']);
    // Only below 75 % does the warning come back.
    expect(levels(feed(t, [50, 85, 96]))).toEqual(['memory:warning', 'memory:critical']);
  });

  it('a straight jump past 95 % fires only the critical, and counts the warning as said', () => {
    const t = new LimitsTracker({ classLabel: 'Large' });
    const evs = feed(t, [30, 98, 91, 97]);
    expect(levels(evs)).toEqual(['memory:critical']);
    expect(evs[0]).toMatchObject({ level: 'critical', action: 'open-class-picker' });
    // Below 90 % the critical re-arms; the warning (still above 75 %) does not come back on the way up.
    expect(levels(feed(t, [85, 97]))).toEqual(['memory:critical']);
  });

  it('never emits two identical events without a re-arm in between (random walk)', () => {
    const t = new LimitsTracker({ classLabel: 'Large' });
    let p = 50;
    let seed = 7;
    const rnd = (): number => {
      // mulberry32: a small deterministic generator
      seed = (seed + 0x6d2b79f5) | 0;
      let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
      return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
    };
    const trace: { p: number; evs: LimitEvent[] }[] = [];
    for (let i = 0; i < 5000; i++) {
      p = Math.min(100, Math.max(0, p + (rnd() - 0.5) * 6));
      trace.push({ p, evs: t.onMemory(sample(p)) });
    }
    // Between two warnings, memory went below 75 %; between two criticals, below 90 %.
    for (const [level, rearm] of [['warning', 75], ['critical', 90]] as const) {
      let armed = true;
      for (const { p: v, evs } of trace) {
        if (v < rearm) armed = true;
        for (let n = evs.filter((x) => x.level === level).length; n > 0; n--) {
          expect(armed).toBe(true);
          armed = false;
        }
        if (level === 'warning' && evs.some((x) => x.level === 'critical')) armed = false;
      }
    }
    const fired = trace.flatMap((x) => x.evs);
    expect(fired.filter((e) => e.level === 'warning').length).toBeGreaterThan(1);
    expect(fired.filter((e) => e.level === 'critical').length).toBeGreaterThan(1);
  });

  it("the server's own warn flag fires the warning early; it re-arms only once the flag is down", () => {
    const t = new LimitsTracker({ classLabel: 'Medium' });
    expect(levels(feed(t, [60], { serverWarn: true }))).toEqual(['memory:warning']);
    expect(levels(feed(t, [50], { serverWarn: true }))).toEqual([]);
    expect(levels(feed(t, [50, 70], { serverWarn: false }))).toEqual([]); // re-armed by the 50
    expect(levels(feed(t, [72], { serverWarn: true }))).toEqual(['memory:warning']);

    const ignoring = new LimitsTracker({ classLabel: 'Medium', thresholds: resolveThresholds({ useServerWarn: false }) });
    expect(levels(feed(ignoring, [60], { serverWarn: true }))).toEqual([]);
  });

  it('says nothing without a known limit', () => {
    const t = new LimitsTracker({ classLabel: 'Large' });
    expect(t.onMemory({ at: t0, rssBytes: 50 * GB, limitBytes: 0, limitSource: 'none', serverWarn: false })).toEqual([]);
  });

  it('per-facility thresholds', () => {
    const t = new LimitsTracker({ classLabel: 'Small', thresholds: resolveThresholds({ memoryWarningPercent: 60, memoryCriticalPercent: 85, hysteresisPoints: 10 }) });
    expect(levels(feed(t, [59, 61, 52, 61, 49.9, 61, 86]))).toEqual(['memory:warning', 'memory:warning', 'memory:critical']);
  });

  it('the words name the class and the numbers', () => {
    const t = new LimitsTracker({ classLabel: 'Large' });
    const [w] = t.onMemory({ at: t0, rssBytes: Math.round(39.8 * GB), limitBytes: 48 * GB, limitSource: 'server', serverWarn: false });
    expect(w).toMatchObject({
      kind: 'memory',
      level: 'warning',
      title: 'Memory at 82 % — Large class',
      body: 'Save your work: the notebook server uses 39.8 of 48 GB. It is stopped above the limit.',
      action: 'save',
      classLabel: 'Large',
      usedBytes: Math.round(39.8 * GB),
      limitBytes: 48 * GB,
      limitSource: 'server',
    });
    const [c] = t.onMemory({ at: t0, rssBytes: Math.round(46.5 * GB), limitBytes: 48 * GB, limitSource: 'server', serverWarn: false });
    expect(c!.title).toBe('Memory at 96 % — Large class');
    expect(c!.body).toBe('Save your work now: the notebook server uses 46.5 of 48 GB and is stopped above the limit. A bigger class gives it more room.');
    expect(c!.action).toBe('open-class-picker');

    const tiny = new LimitsTracker({ classLabel: 'Tiny' });
    const [m] = tiny.onMemory({ at: t0, rssBytes: 330 * 1024 ** 2, limitBytes: 400 * 1024 ** 2, limitSource: 'class', serverWarn: false });
    expect(m!.body).toContain('uses 330 of 400 MB');
  });
});

describe('runtime marks', () => {
  it('fire once each, in order: 30, 10, 5 minutes', () => {
    const t = new LimitsTracker({ classLabel: 'Large', formatTime: clock });
    const out: LimitEvent[] = [];
    // Every 5 s from 40 minutes left to the end.
    for (let left = 40 * MIN; left >= 0; left -= 5_000) out.push(...t.onRuntime(left, t0 + (40 * MIN - left)));
    expect(out.map((e) => e.kind === 'runtime' && e.markMs)).toEqual([30 * MIN, 10 * MIN, 5 * MIN]);
    expect(levels(out)).toEqual(['runtime:warning', 'runtime:warning', 'runtime:critical']);
    expect(out.map((e) => e.title)).toEqual(['30 minutes left — Large class', '10 minutes left — Large class', '5 minutes left — Large class']);
  });

  it('marks passed at once (the laptop slept) collapse into the most urgent', () => {
    const t = new LimitsTracker({ classLabel: 'Large', formatTime: clock });
    expect(t.onRuntime(45 * MIN, t0)).toEqual([]);
    const evs = t.onRuntime(7 * MIN, t0 + 38 * MIN);
    expect(evs).toHaveLength(1);
    expect(evs[0]).toMatchObject({ kind: 'runtime', level: 'warning', markMs: 10 * MIN, leftMs: 7 * MIN, title: '7 minutes left — Large class' });
    expect(t.onRuntime(6 * MIN, t0 + 39 * MIN)).toEqual([]);
    expect(levels(t.onRuntime(4.9 * MIN, t0 + 40 * MIN))).toEqual(['runtime:critical']);
    expect(t.onRuntime(1 * MIN, t0 + 44 * MIN)).toEqual([]);

    const asleep = new LimitsTracker({ classLabel: 'Large', formatTime: clock });
    const all = asleep.onRuntime(2 * MIN, t0);
    expect(levels(all)).toEqual(['runtime:critical']);
    expect(asleep.onRuntime(-1, t0 + 3 * MIN)).toEqual([]);
  });

  it('says when the server is stopped, in local time', () => {
    const t = new LimitsTracker({ classLabel: 'Large', formatTime: clock });
    t.onRuntime(31 * MIN, t0);
    const [e] = t.onRuntime(10 * MIN - 1_000, Date.parse('2025-03-04T14:22:01Z'));
    // The first mark reached here is 30 min; 10 min is reached at the same time: most urgent wins.
    expect(e).toMatchObject({ markMs: 10 * MIN, endsAt: Date.parse('2025-03-04T14:32:00Z') });
    expect(e!.body).toBe('10 minutes left in the Large class — save your work; the server is stopped at 14:32.');
  });

  it('a start after the runtime is over says so', () => {
    const t = new LimitsTracker({ classLabel: 'Small class' });
    const [e] = t.onRuntime(-30_000, t0);
    expect(e).toMatchObject({ level: 'critical', title: 'Runtime over — Small class' });
  });

  it('names the next mark to come, for the monitor to set its timer by', () => {
    const t = new LimitsTracker({ classLabel: 'Large', formatTime: clock });
    expect(t.nextMarkMs()).toBe(30 * MIN);
    t.onRuntime(30 * MIN, t0);
    expect(t.nextMarkMs()).toBe(10 * MIN);
    t.onRuntime(4 * MIN, t0 + 26 * MIN); // slept past 10 and 5: both count as said
    expect(t.nextMarkMs()).toBeUndefined();
    const none = new LimitsTracker({ classLabel: 'Large', thresholds: resolveThresholds({ runtimeMarksMs: [] }) });
    expect(none.nextMarkMs()).toBeUndefined();
  });

  it('takes seconds-scale marks (for tests and short classes)', () => {
    const t = new LimitsTracker({ classLabel: 'Tiny', thresholds: resolveThresholds({ runtimeMarksMs: [20_000, 60_000, 60_000] }), formatTime: clock });
    expect(t.thresholds.runtimeMarksMs).toEqual([60_000, 20_000]);
    const out = [90_000, 59_000, 40_000, 19_000, 5_000].flatMap((l) => t.onRuntime(l, t0));
    expect(out.map((e) => e.title)).toEqual(['59 seconds left — Tiny class', '19 seconds left — Tiny class']);
  });
});

describe('thresholds', () => {
  it('defaults', () => {
    expect(resolveThresholds()).toEqual({ ...DEFAULT_THRESHOLDS, runtimeMarksMs: [30 * MIN, 10 * MIN, 5 * MIN] });
  });
  it('refuse nonsense with a typed error', () => {
    expect(() => resolveThresholds({ memoryWarningPercent: 96 })).toThrow(RoamlabError);
    expect(() => resolveThresholds({ memoryWarningPercent: 0 })).toThrow(/memoryWarningPercent/);
    expect(() => resolveThresholds({ runtimeMarksMs: [-5] })).toThrow(/runtimeMarksMs/);
    expect(() => resolveThresholds({ memoryLimit: 5 } as never)).toThrow(RoamlabError);
  });
});

describe('words', () => {
  it('class phrases, amounts and durations', () => {
    expect(classPhrase('Large')).toBe('Large class');
    expect(classPhrase('GPU class')).toBe('GPU class');
    expect(formatMemoryOf(Math.round(39.84 * GB), 48 * GB)).toBe('39.8 of 48 GB');
    expect(formatMemoryOf(Math.round(1.2 * GB), 1.5 * GB)).toBe('1.2 of 1.5 GB');
    expect(formatDuration(10 * MIN)).toBe('10 minutes');
    expect(formatDuration(61_000)).toBe('1 minute');
    expect(formatDuration(1_000)).toBe('1 second');
    expect(formatDuration(150 * MIN)).toBe('2.5 hours');
  });
});

describe('postMortem', () => {
  const started = '2025-03-04T12:00:00.000000Z';
  const end = t0 + 3 * 3_600_000;

  it('runtime: the end came when the runtime ran out (clock skew accounted for)', () => {
    const pm = postMortem({ started, runtimeHours: 3, endedAt: end + 40_000 + 5 * MIN, skewMs: -5 * MIN, classLabel: 'Large', formatTime: clock });
    expect(pm.cause).toBe('runtime');
    expect(pm.message).toBe('The server reached its runtime limit of 3 hours in the Large class at 15:05 and was stopped by the facility. Start it again to continue; saved notebooks are kept.');
    expect(pm.at).toBe(end + 40_000 + 5 * MIN);
    // Noticed an hour late (asleep): still the runtime.
    expect(postMortem({ started, runtimeHours: 3, endedAt: end + 3_600_000, skewMs: 0 }).cause).toBe('runtime');
  });

  it('memory: the last reading was at the critical share of the limit', () => {
    const last = sample(97);
    const pm = postMortem({ lastSample: last, started, runtimeHours: 3, endedAt: t0 + 3_600_000, skewMs: 0, classLabel: 'Large' });
    expect(pm).toMatchObject({ cause: 'memory', lastSample: last });
    expect(pm.message).toMatch(/ran out of memory: it last used 46\.6 of 48 GB \(97 %\)\. Start it again in a bigger class/);
  });

  it('stopped: neither', () => {
    const pm = postMortem({ lastSample: sample(60), started, runtimeHours: 3, endedAt: t0 + 3_600_000, skewMs: 0 });
    expect(pm.cause).toBe('stopped');
    expect(pm.message).toMatch(/stopped from the hub or culled/);
    expect(postMortem({ endedAt: t0, skewMs: 0 }).cause).toBe('stopped');
    // Just outside the tolerance before the runtime's end, memory fine: stopped.
    expect(postMortem({ started, runtimeHours: 3, endedAt: end - 2 * MIN - 1, skewMs: 0 }).cause).toBe('stopped');
    expect(postMortem({ started, runtimeHours: 3, endedAt: end - 2 * MIN + 1, skewMs: 0 }).cause).toBe('runtime');
  });
});

describe('pollIntervalMs', () => {
  it('5 s visible, 30 s hidden, paused while reconnecting', () => {
    expect(pollIntervalMs({ visible: true, reconnecting: false })).toBe(5_000);
    expect(pollIntervalMs({ visible: false, reconnecting: false })).toBe(30_000);
    expect(pollIntervalMs({ visible: true, reconnecting: true })).toBeNull();
    expect(pollIntervalMs({ visible: false, reconnecting: true })).toBeNull();
  });
});

import { describe, expect, it } from 'vitest';
import { ClockSkew, runtimeEndLocal, runtimeLeftMs, skewFromDate } from '../../../electron/core/monitor/clock-skew';

const t0 = Date.parse('2025-03-04T12:00:00.000Z');
const httpDate = (ms: number): string => new Date(ms).toUTCString();

describe('skewFromDate', () => {
  it('measures hub − local at the midpoint of the request, half a second into the Date second', () => {
    // The hub is 90 s ahead; its clock reads 12:01:30.4 when it answers at local 12:00:00.4.
    const s = skewFromDate(httpDate(t0 + 90_400), t0, t0 + 800);
    expect(s).toBeDefined();
    expect(s!.skewMs).toBe(90_000 + 500 - 400);
    expect(s!.uncertaintyMs).toBe(900);
  });

  it('is within the uncertainty of the truth for any sub-second phase', () => {
    for (const phase of [0, 1, 250, 499, 500, 999]) {
      const trueSkew = -42_000;
      const sent = t0 + phase;
      const received = sent + 200;
      const hubAtMid = sent + 100 + trueSkew;
      const s = skewFromDate(httpDate(hubAtMid), sent, received)!;
      expect(Math.abs(s.skewMs - trueSkew)).toBeLessThanOrEqual(s.uncertaintyMs);
    }
  });

  it('ignores missing, unreadable and out-of-order input', () => {
    expect(skewFromDate(undefined, t0, t0)).toBeUndefined();
    expect(skewFromDate('yesterday-ish', t0, t0)).toBeUndefined();
    expect(skewFromDate(httpDate(t0), t0 + 10, t0)).toBeUndefined();
    expect(skewFromDate([httpDate(t0)], t0, t0)?.skewMs).toBe(500);
  });
});

describe('ClockSkew', () => {
  it('is 0 until measured, then the median of recent samples', () => {
    const c = new ClockSkew({ window: 5 });
    expect(c.skewMs).toBe(0);
    // Hub 3 s behind; the Date second's truncation jitters each sample by up to a second.
    const phases = [0, 300, 600, 900, 150];
    for (const [i, p] of phases.entries()) {
      const local = t0 + i * 5_000 + p;
      c.observe(httpDate(local - 3_000), local, local);
    }
    expect(c.sampleCount).toBe(5);
    expect(Math.abs(c.skewMs - -3_000)).toBeLessThanOrEqual(500);
  });

  it('shrugs off an outlier and drops slow round trips', () => {
    const c = new ClockSkew({ window: 5, maxRoundTripMs: 2_000 });
    for (let i = 0; i < 4; i++) c.observe(httpDate(t0 + i * 1000 + 60_000), t0 + i * 1000, t0 + i * 1000);
    c.observe(httpDate(t0 + 3_600_000), t0, t0); // a proxy's cached Date, an hour off
    expect(Math.abs(c.skewMs - 60_000)).toBeLessThanOrEqual(500);
    expect(c.observe(httpDate(t0), t0, t0 + 2_001)).toBe(false);
  });

  it('follows a real clock step once half the window sees it', () => {
    const c = new ClockSkew({ window: 5 });
    for (let i = 0; i < 5; i++) c.observe(httpDate(t0 + i * 1000), t0 + i * 1000, t0 + i * 1000);
    expect(Math.abs(c.skewMs)).toBeLessThanOrEqual(500);
    for (let i = 5; i < 8; i++) c.observe(httpDate(t0 + i * 1000 + 120_000), t0 + i * 1000, t0 + i * 1000);
    expect(Math.abs(c.skewMs - 120_000)).toBeLessThanOrEqual(500);
  });
});

describe('runtimeLeftMs', () => {
  const started = '2025-03-04T12:00:00.000000Z'; // JupyterHub's ISO with microseconds

  it('counts from the start in the hub clock', () => {
    expect(runtimeLeftMs(started, 3, t0 + 2 * 3_600_000, 0)).toBe(3_600_000);
    expect(runtimeLeftMs(started, 3, t0 + 3 * 3_600_000 + 1, 0)).toBe(-1);
  });

  it('corrects for a laptop clock that is off', () => {
    // The laptop runs 5 minutes fast: hub − local = −5 min. At local 14:55 the hub says 14:50.
    const localNow = t0 + 2 * 3_600_000 + 55 * 60_000;
    expect(runtimeLeftMs(started, 3, localNow, -5 * 60_000)).toBe(10 * 60_000);
    expect(runtimeEndLocal(started, 3, -5 * 60_000)).toBe(t0 + 3 * 3_600_000 + 5 * 60_000);
  });

  it('is undefined for an unreadable start or no runtime', () => {
    expect(runtimeLeftMs('not a date', 3, t0, 0)).toBeUndefined();
    expect(runtimeLeftMs(started, 0, t0, 0)).toBeUndefined();
    expect(runtimeEndLocal('', 3, 0)).toBeUndefined();
  });
});

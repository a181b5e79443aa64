import { describe, expect, it } from 'vitest';

import { deadAfterMs, RttEstimate } from '../../../electron/core/transport/link-watch';

describe('deadAfterMs', () => {
  it('keeps the fixed limit on a fast link: 0.8 s × (2 + 1) = 2.4 s', () => {
    expect(deadAfterMs(800, 2, 0)).toBe(2400);
    expect(deadAfterMs(800, 2, 300)).toBe(2400);
  });

  it('gives a slow link one interval plus three of its round trips', () => {
    // A 2 s round trip: the reply to a keepalive sent after 0.8 s of silence comes at 2.8 s,
    // after the fixed 2.4 s limit; the link is given until 6.8 s.
    expect(deadAfterMs(800, 2, 2000)).toBe(6800);
  });
});

describe('RttEstimate', () => {
  it('starts from the first estimate and rises at once with a slower sample', () => {
    const r = new RttEstimate(20);
    expect(r.ms).toBe(20);
    r.sample(1800);
    expect(r.ms).toBe(1800);
  });

  it('falls by an eighth of the difference per quicker sample', () => {
    const r = new RttEstimate(1600);
    r.sample(0);
    expect(r.ms).toBe(1400);
    for (let i = 0; i < 40; i++) r.sample(100);
    expect(r.ms).toBeGreaterThan(100);
    expect(r.ms).toBeLessThan(110);
  });

  it('ignores samples that are not times', () => {
    const r = new RttEstimate(50);
    r.sample(Number.NaN);
    r.sample(-5);
    r.sample(Infinity);
    expect(r.ms).toBe(50);
  });
});

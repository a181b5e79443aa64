import { describe, expect, it } from 'vitest';
import type { NodeStats } from '../../electron/common/ipc-contract';
import { formatBytes, formatUsedOfLimit, limitsView, memoryLevel, runtimeLeftNow, runtimeLevel, worstLevel } from '../../renderer/src/limits-view';

const MB = 1024 ** 2;
const GB = 1024 ** 3;
const MIN = 60_000;

function stats(over: Partial<NodeStats> = {}): NodeStats {
  const limitBytes = over.limitBytes ?? 400 * MB;
  const rssBytes = over.rssBytes ?? 100 * MB;
  return {
    at: 1_000_000,
    rssBytes,
    limitBytes,
    limitSource: 'server',
    memoryPercent: limitBytes > 0 ? (rssBytes / limitBytes) * 100 : undefined,
    memoryWarningPercent: 80,
    memoryCriticalPercent: 95,
    runtimeWarningMs: 30 * MIN,
    runtimeCriticalMs: 5 * MIN,
    ...over,
  };
}

describe('memoryLevel: the thresholds that came with the stats', () => {
  it.each([
    [0, 'ok'],
    [79.9, 'ok'],
    [80, 'warning'],
    [94.99, 'warning'],
    [95, 'critical'],
    [120, 'critical'],
  ] as const)('%s %% → %s', (p, level) => {
    expect(memoryLevel(stats({ memoryPercent: p }))).toBe(level);
  });

  it('follows per-facility overrides', () => {
    expect(memoryLevel(stats({ memoryPercent: 70, memoryWarningPercent: 70, memoryCriticalPercent: 90 }))).toBe('warning');
    expect(memoryLevel(stats({ memoryPercent: 90, memoryWarningPercent: 70, memoryCriticalPercent: 90 }))).toBe('critical');
  });

  it('has no level without a limit', () => {
    expect(memoryLevel(stats({ limitBytes: 0, limitSource: 'none', memoryPercent: undefined }))).toBeUndefined();
  });
});

describe('runtime left', () => {
  it.each([
    [31 * MIN, 'ok'],
    [30 * MIN + 1, 'ok'],
    [30 * MIN, 'warning'],
    [5 * MIN + 1, 'warning'],
    [5 * MIN, 'critical'],
    [0, 'critical'],
    [-MIN, 'critical'],
  ] as const)('%s ms → %s', (left, level) => {
    expect(runtimeLevel(left, stats())).toBe(level);
  });

  it('has no level without a runtime limit', () => {
    expect(runtimeLevel(undefined, stats())).toBeUndefined();
  });

  it('counts down locally from the sample', () => {
    const m = stats({ runtimeLeftMs: 31 * MIN });
    expect(runtimeLeftNow(m, m.at)).toBe(31 * MIN);
    expect(runtimeLeftNow(m, m.at + 90_000)).toBe(29.5 * MIN);
    expect(limitsView(m, m.at + 90_000).runtime).toMatchObject({ level: 'warning', text: '29 min 30 s left' });
    // A clock that went backwards never adds time.
    expect(runtimeLeftNow(m, m.at - 10_000)).toBe(31 * MIN);
    expect(limitsView(stats({ runtimeLeftMs: 1000 }), 1_000_000 + 5000).runtime).toMatchObject({ text: 'over the limit', level: 'critical' });
  });
});

describe('formatting', () => {
  it('uses MB below 1 GB and GB from there', () => {
    expect(formatBytes(340 * MB)).toBe('340 MB');
    expect(formatBytes(1023 * MB)).toBe('1023 MB');
    expect(formatBytes(GB)).toBe('1 GB');
    expect(formatBytes(41.23 * GB)).toBe('41.2 GB');
    expect(formatBytes(48 * GB)).toBe('48 GB');
  });

  it('says used / limit with one unit when both share it', () => {
    expect(formatUsedOfLimit(41.2 * GB, 48 * GB)).toBe('41.2 / 48 GB');
    expect(formatUsedOfLimit(310 * MB, 400 * MB)).toBe('310 / 400 MB');
    expect(formatUsedOfLimit(512 * MB, 2 * GB)).toBe('512 MB / 2 GB');
  });

  it('puts memory, CPU and runtime together, the row taking the worst level', () => {
    const v = limitsView(stats({ rssBytes: 340 * MB, memoryPercent: 85, cpuPercent: 12.34, cpuCount: 2, runtimeLeftMs: 3 * 3_600_000 }), 1_000_000);
    expect(v.memory).toEqual({ text: '340 / 400 MB', percent: 85, level: 'warning' });
    expect(v.cpu).toBe('CPU 12 % of 2 cores');
    expect(v.runtime).toMatchObject({ level: 'ok', text: '3 h 00 min left' });
    expect(v.level).toBe('warning');
    expect(worstLevel('ok', undefined, 'critical', 'warning')).toBe('critical');
    expect(worstLevel(undefined)).toBeUndefined();
  });

  it('without a limit: no meter (no percent), "memory unknown"', () => {
    const v = limitsView(stats({ rssBytes: 300 * MB, limitBytes: 0, limitSource: 'none', memoryPercent: undefined }), 1_000_000);
    expect(v.memory.percent).toBeUndefined();
    expect(v.memory.level).toBeUndefined();
    expect(v.memory.text).toMatch(/300 MB used · memory unknown/);
    expect(v.level).toBeUndefined();
    expect(v.runtime).toBeUndefined();
    expect(v.cpu).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import type { NodeStats, SessionView } from '../../electron/common/ipc-contract';
import { shortDuration, trayTooltip, usedOfLimit } from '../../electron/shell/tray-tooltip';

const GB = 1024 ** 3;
const MIN = 60_000;
const NOW = 10_000_000;

function session(name: string, m: Partial<NodeStats> | undefined, over: Partial<SessionView> = {}): SessionView {
  return {
    sessionId: name,
    facilityId: name,
    facilityName: name,
    serverName: '',
    classId: 'large',
    classLabel: 'Large: 48 GB, 8 cores',
    state: 'ready',
    reason: 'ready',
    requestedAt: 0,
    metrics: m && {
      at: NOW,
      rssBytes: 0,
      limitBytes: 48 * GB,
      limitSource: 'server',
      memoryWarningPercent: 80,
      memoryCriticalPercent: 95,
      runtimeWarningMs: 30 * MIN,
      runtimeCriticalMs: 5 * MIN,
      ...m,
    },
    ...over,
  };
}

describe('the tray tooltip names the session nearest its limit', () => {
  it('reads like the example', () => {
    const s = session('DESY NAF', { rssBytes: 41.2 * GB, memoryPercent: 85.8, runtimeLeftMs: 72 * MIN + 5000 });
    expect(trayTooltip([s], NOW)).toBe('Roamlab — DESY NAF Large: 41.2 of 48 GB, 1 h 12 min left');
  });

  it('picks the highest memory, or the least runtime left, whichever is nearer critical', () => {
    const full = session('A', { rssBytes: 40 * GB, memoryPercent: 83, runtimeLeftMs: 5 * 3_600_000 });
    const late = session('B', { rssBytes: 1 * GB, memoryPercent: 2, runtimeLeftMs: 4 * MIN });
    const calm = session('C', { rssBytes: 1 * GB, memoryPercent: 2 });
    expect(trayTooltip([calm, full], NOW)).toMatch(/^Roamlab — A /);
    expect(trayTooltip([calm, full, late], NOW)).toBe('Roamlab — B Large: 1 of 48 GB, 4 min left');
  });

  it('says just Roamlab without stats, and skips ended sessions', () => {
    expect(trayTooltip([], NOW)).toBe('Roamlab');
    expect(trayTooltip([session('A', undefined)], NOW)).toBe('Roamlab');
    expect(trayTooltip([session('A', { memoryPercent: 99 }, { state: 'ended' })], NOW)).toBe('Roamlab');
  });

  it('formats', () => {
    expect(usedOfLimit(388 * 1024 ** 2, 400 * 1024 ** 2)).toBe('388 of 400 MB');
    expect(usedOfLimit(512 * 1024 ** 2, 2 * GB)).toBe('512 MB of 2 GB');
    expect(shortDuration(30_000)).toBe('under a minute');
    expect(shortDuration(7 * MIN)).toBe('7 min');
  });
});

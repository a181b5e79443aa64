import { describe, expect, it } from 'vitest';
import type { NodeStats, SessionView } from '../../electron/common/ipc-contract';
import { limitsView } from '../../renderer/src/limits-view';
import { stripView } from '../../renderer/src/strip/strip-view';

const MB = 1024 ** 2;
const MIN = 60_000;
const NOW = Date.parse('2025-03-04T12:00:00Z');

function stats(percent: number, over: Partial<NodeStats> = {}): NodeStats {
  const limitBytes = 400 * MB;
  return {
    at: NOW,
    rssBytes: Math.round((percent / 100) * limitBytes),
    limitBytes,
    limitSource: 'server',
    memoryPercent: percent,
    cpuPercent: 3.2,
    cpuCount: 2,
    runtimeLeftMs: 90 * MIN,
    memoryWarningPercent: 80,
    memoryCriticalPercent: 95,
    runtimeWarningMs: 30 * MIN,
    runtimeCriticalMs: 5 * MIN,
    ...over,
  };
}

function session(over: Partial<SessionView> = {}): SessionView {
  return {
    sessionId: 's1',
    facilityId: 'lim',
    facilityName: 'Limits facility',
    serverName: '',
    classId: 'tiny',
    classLabel: 'Tiny: 400 MB, 1 core',
    state: 'ready',
    reason: 'JupyterLab is ready',
    requestedAt: NOW - 5 * MIN,
    started: new Date(NOW - 30 * MIN).toISOString(),
    runtimeHours: 2,
    ...over,
  };
}

describe('stripView', () => {
  it('a ready session: the numbers, in the words and levels of the launcher (limits-view.ts)', () => {
    const m = stats(50);
    const v = stripView(session({ metrics: m }), NOW);
    const launcher = limitsView(m, NOW);
    expect(v.title).toBe('Tiny · Limits facility');
    expect(v.state).toBeUndefined();
    expect(v.memory).toMatchObject({ text: '200 / 400 MB', level: 'ok', percent: 50, warningPercent: 80, criticalPercent: 95 });
    expect(v.memory!.text).toBe(launcher.memory.text);
    expect(v.cpu).toBe('CPU 3.2 % of 2 cores');
    expect(v.runtime).toEqual({ text: '1 h 30 min left', level: 'ok' });
    expect(v.level).toBe('ok');
    expect(v.offerBiggerClass).toBe(false);
  });

  it.each([
    [79.9, 'ok'],
    [80, 'warning'],
    [94.9, 'warning'],
    [95, 'critical'],
    [103, 'critical'],
  ] as const)('memory at %d %% is %s, as in the sessions list', (pct, level) => {
    const m = stats(pct);
    const v = stripView(session({ metrics: m }), NOW);
    expect(v.memory?.level).toBe(level);
    expect(v.memory?.level).toBe(limitsView(m, NOW).memory.level);
    expect(v.level).toBe(level);
  });

  it('runtime counts down locally from the sample and turns warning, then critical, at its marks', () => {
    const m = stats(10, { runtimeLeftMs: 31 * MIN });
    expect(stripView(session({ metrics: m }), NOW).runtime).toEqual({ text: '31 min 00 s left', level: 'ok' });
    expect(stripView(session({ metrics: m }), NOW + 2 * MIN).runtime?.level).toBe('warning');
    expect(stripView(session({ metrics: m }), NOW + 26 * MIN).runtime?.level).toBe('critical');
    expect(stripView(session({ metrics: m }), NOW + 32 * MIN).runtime).toEqual({ text: 'over the limit', level: 'critical' });
  });

  it('critical memory offers a bigger class', () => {
    const v = stripView(
      session({ metrics: stats(97), lastLimit: { kind: 'memory', level: 'critical', title: 'Memory at 97 % — Tiny class', body: '…', action: 'open-class-picker', at: NOW } }),
      NOW,
    );
    expect(v.offerBiggerClass).toBe(true);
    expect(v.limit?.title).toBe('Memory at 97 % — Tiny class');
  });

  it('no metrics (a hub without jupyter-resource-usage): runtime from the start, coloured by the warnings given, and the notice', () => {
    const s = session({ notice: 'Memory unknown: this server does not report memory; only runtime is watched.' });
    expect(stripView(s, NOW)).toMatchObject({ memory: undefined, runtime: { text: '1 h 30 min left', level: 'ok' }, notice: s.notice, level: 'ok' });
    const warned = stripView({ ...s, lastLimit: { kind: 'runtime', level: 'warning', title: '30 minutes left — Tiny class', body: '…', action: 'save', at: NOW } }, NOW);
    expect(warned.runtime?.level).toBe('warning');
    expect(warned.level).toBe('warning');
  });

  it('a session that is not simply ready says so, with its reason (reconnecting, degraded, ended)', () => {
    const r = stripView(session({ state: 'reconnecting', reason: 'the SSH gateway did not answer; trying again in 4 s', metrics: stats(10) }), NOW);
    expect(r.state).toEqual({ name: 'reconnecting', text: 'Reconnecting', reason: 'the SSH gateway did not answer; trying again in 4 s', level: 'warning' });
    expect(r.level).toBe('warning');
    expect(stripView(session({ state: 'degraded', reason: 'the network went away' }), NOW).state?.text).toBe('Connection trouble');
    const ended = stripView(session({ state: 'ended', reason: 'The server reached its runtime limit of 2 hours.' }), NOW);
    expect(ended.state).toMatchObject({ text: 'Ended', level: 'critical' });
    expect(stripView(null, NOW)).toMatchObject({ state: { text: 'Closed' }, level: 'critical' });
  });

  it('names a named server', () => {
    expect(stripView(session({ serverName: 'beamtime' }), NOW).title).toBe('Tiny · Limits facility · beamtime');
  });
});

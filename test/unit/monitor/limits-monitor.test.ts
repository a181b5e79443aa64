/**
 * LimitsMonitor's scheduling against a tiny local HTTP server standing in for the metrics
 * endpoint, with a hand-driven clock. Real hubs with the real extension: test/integration/limits-monitor.test.ts.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ServerModel } from '../../../electron/core/hub/hub-client';
import { LimitsMonitor, type LimitsMonitorOptions, type MonitorClock, type MonitorNotice } from '../../../electron/core/monitor/limits-monitor';
import type { LimitEvent, PostMortem } from '../../../electron/core/monitor/limits-policy';
import { BYTES_PER_GB, type MetricsSample } from '../../../electron/core/monitor/metrics';
import { openDirectTransport } from '../../../electron/core/transport/direct';

const MIN = 60_000;
const GB = BYTES_PER_GB;
const T0 = Date.parse('2025-03-04T12:00:00Z');

/** Timers that run only when the test advances time. */
class FakeClock implements MonitorClock {
  private t = T0;
  private id = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.id;
    this.timers.set(id, { at: this.t + ms, fn });
    return id;
  }
  clearTimeout(h: unknown): void {
    this.timers.delete(h as number);
  }
  get pending(): number {
    return this.timers.size;
  }
  /** Delay until the next timer, from now. */
  get nextDelay(): number | undefined {
    const ats = [...this.timers.values()].map((x) => x.at);
    return ats.length ? Math.min(...ats) - this.t : undefined;
  }
  /** Move time forward without running any timer, as for a laptop asleep; overdue timers run at the next advance. */
  jump(ms: number): void {
    this.t += ms;
  }
  /** Move time forward, firing due timers in order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = [...this.timers.entries()].filter(([, x]) => x.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.t = Math.max(this.t, due[1].at);
      due[1].fn();
    }
    this.t = end;
  }
}

interface Seen {
  url: string;
  auth: string | undefined;
}
type Reply = { status: number; body?: unknown; hold?: boolean };

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

/** The metrics endpoint of '/jhub/user/alice/', answering whatever `reply` says; Date in the hub's (skewed) clock. */
async function fakeServer(clock: FakeClock, reply: () => Reply, hubSkewMs = 0) {
  const seen: Seen[] = [];
  const held: (() => void)[] = [];
  let closedEarly = 0;
  const server = http.createServer((req, res) => {
    seen.push({ url: req.url ?? '', auth: req.headers.authorization });
    const r = req.url === '/jhub/user/alice/api/metrics/v1' ? reply() : { status: 599 };
    const send = (): void => {
      res.setHeader('Date', new Date(clock.now() + hubSkewMs).toUTCString());
      res.writeHead(r.status, { 'Content-Type': 'application/json' });
      res.end(r.body === undefined ? JSON.stringify({ message: 'Not Found' }) : typeof r.body === 'string' ? r.body : JSON.stringify(r.body));
    };
    res.on('close', () => {
      if (!res.writableEnded) closedEarly++;
    });
    if (r.hold) held.push(send);
    else send();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const transport = openDirectTransport(new URL(`http://127.0.0.1:${port}/jhub/`));
  cleanups.push(async () => {
    await transport.close();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });
  return {
    transport,
    seen,
    release: () => held.splice(0).forEach((f) => f()),
    get held() {
      return held.length;
    },
    get closedEarly() {
      return closedEarly;
    },
  };
}

function metrics(rssGB: number, limitGB = 0, warn?: boolean): unknown {
  return { rss: Math.round(rssGB * GB), limits: { memory: { rss: limitGB * GB, pss: limitGB * GB, ...(warn === undefined ? {} : { warn }) } }, cpu_percent: 3.5, cpu_count: 8 };
}

function makeMonitor(clock: FakeClock, transport: LimitsMonitorOptions['transport'], o: Partial<LimitsMonitorOptions> = {}) {
  const m = new LimitsMonitor({
    transport,
    token: () => 'secret-token',
    serverUrlPath: '/jhub/user/alice/',
    started: null,
    notebookClass: { label: 'Large', memoryGB: 48 },
    clock,
    // UTC, so the test does not depend on TZ; to the nearest minute like formatClock.
    formatTime: (ms) => new Date(Math.round(ms / MIN) * MIN).toISOString().slice(11, 16),
    ...o,
  });
  const got = { samples: [] as MetricsSample[], limits: [] as LimitEvent[], notices: [] as MonitorNotice[], ended: [] as PostMortem[] };
  m.on('metrics', (s) => got.samples.push(s));
  m.on('limit', (e) => got.limits.push(e));
  m.on('notice', (n) => got.notices.push(n));
  m.on('ended', (p) => got.ended.push(p));
  cleanups.push(() => m.dispose());
  return { m, got };
}

/** Wait until the monitor is idle again: a finished poll always leaves exactly one timer (unless paused or ended). */
const idle = (clock: FakeClock, timers = 1): Promise<void> => vi.waitFor(() => expect(clock.pending).toBe(timers), { timeout: 5_000, interval: 2 });

/** One poll: fire the due timer, wait for the poll to finish. */
async function step(clock: FakeClock, ms?: number): Promise<void> {
  clock.advance(ms ?? clock.nextDelay ?? 0);
  await idle(clock);
}

/** Poll after poll until the monitor ends (then no timer is left). */
async function runUntilEnded(clock: FakeClock, ended: PostMortem[], maxPolls = 30): Promise<void> {
  for (let k = 0; k < maxPolls && ended.length === 0; k++) {
    clock.advance(clock.nextDelay ?? 0);
    await vi.waitFor(() => expect(clock.pending + ended.length).toBe(1));
  }
}

describe('LimitsMonitor', () => {
  it('polls every 5 s while visible, 30 s hidden; token only in the Authorization header', async () => {
    const clock = new FakeClock();
    const srv = await fakeServer(clock, () => ({ status: 200, body: metrics(10, 48) }));
    const { m, got } = makeMonitor(clock, srv.transport);
    expect(clock.pending).toBe(0); // nothing before start()
    m.start();
    await step(clock, 0);
    expect(srv.seen).toEqual([{ url: '/jhub/user/alice/api/metrics/v1', auth: 'token secret-token' }]);
    expect(got.samples).toHaveLength(1);
    expect(got.samples[0]).toMatchObject({ at: T0, rssBytes: 10 * GB, limitBytes: 48 * GB, limitSource: 'server', cpuPercent: 3.5, cpuCount: 8 });
    expect(clock.nextDelay).toBe(5_000);

    m.setVisible(false);
    await step(clock); // the pending 5 s poll runs; the next one waits 30 s
    expect(clock.nextDelay).toBe(30_000);
    clock.advance(29_999);
    expect(srv.seen).toHaveLength(2);

    m.setVisible(true); // shown again: a fresh reading right away, then every 5 s
    expect(clock.nextDelay).toBe(0);
    await step(clock, 0);
    expect(srv.seen).toHaveLength(3);
    expect(clock.nextDelay).toBe(5_000);
    expect(got.limits).toEqual([]);
    expect(got.notices).toEqual([]);
  });

  it('never has more than one request in flight', async () => {
    const clock = new FakeClock();
    const srv = await fakeServer(clock, () => ({ status: 200, body: metrics(1, 48), hold: true }));
    const { m, got } = makeMonitor(clock, srv.transport, { requestTimeoutMs: 60_000 });
    m.start();
    clock.advance(0);
    await vi.waitFor(() => expect(srv.held).toBe(1));
    // While the answer is slow: no timer, however much time passes or the window flips.
    expect(clock.pending).toBe(0);
    clock.advance(10 * MIN);
    m.setVisible(false);
    m.setVisible(true);
    await new Promise((r) => setTimeout(r, 50));
    expect(srv.seen).toHaveLength(1);
    srv.release();
    await idle(clock);
    expect(got.samples).toHaveLength(1);
    expect(srv.seen).toHaveLength(1);
  });

  it('pauses while reconnecting (dropping the request under way) and resumes at once after', async () => {
    const clock = new FakeClock();
    let hold = true;
    const srv = await fakeServer(clock, () => ({ status: 200, body: metrics(1, 48), hold }));
    const { m, got } = makeMonitor(clock, srv.transport);
    m.start();
    clock.advance(0);
    await vi.waitFor(() => expect(srv.held).toBe(1));
    m.setReconnecting(true);
    await vi.waitFor(() => expect(srv.closedEarly).toBe(1)); // the request was aborted
    await new Promise((r) => setTimeout(r, 20));
    expect(clock.pending).toBe(0);
    clock.advance(30 * MIN);
    expect(srv.seen).toHaveLength(1);
    expect(got.samples).toEqual([]);
    expect(got.notices).toEqual([]); // an abort is not a failure

    hold = false;
    m.setReconnecting(false);
    expect(clock.nextDelay).toBe(0);
    await step(clock, 0);
    expect(srv.seen).toHaveLength(2);
    expect(got.samples).toHaveLength(1);
  });

  it('404 (no jupyter-resource-usage): one notice, runtime still watched, metrics asked again only every 10 minutes', async () => {
    const clock = new FakeClock();
    const srv = await fakeServer(clock, () => ({ status: 404 }));
    const started = new Date(T0 - 29 * MIN).toISOString(); // 1 h class: 31 minutes left
    const { m, got } = makeMonitor(clock, srv.transport, { started, notebookClass: { label: 'Large', memoryGB: 48, runtimeHours: 1 } });
    m.start();
    await step(clock, 0);
    expect(got.notices).toEqual([
      { code: 'memory-unsupported', message: 'Memory unknown: this server does not report memory (no jupyter-resource-usage); only runtime is watched.' },
    ]);
    // 27 minutes of 5 s ticks.
    for (let i = 0; i < (27 * MIN) / 5_000; i++) await step(clock);
    expect(got.notices).toHaveLength(1);
    expect(srv.seen).toHaveLength(3); // at 0, 10 and 20 minutes
    expect(got.limits.map((e) => e.title)).toEqual(['30 minutes left — Large class', '10 minutes left — Large class', '5 minutes left — Large class']);
    expect(got.limits.map((e) => e.level)).toEqual(['warning', 'warning', 'critical']);
    expect(got.limits[1]!.body).toBe('10 minutes left in the Large class — save your work; the server is stopped at 12:31.');
    expect(got.samples).toEqual([]);
  });

  it('rising memory: exactly one warning, then one critical; a notice when no limit is known', async () => {
    const clock = new FakeClock();
    const series = [10, 30, 70, 81, 83, 88, 92, 96, 97, 99];
    let i = 0;
    const srv = await fakeServer(clock, () => ({ status: 200, body: metrics((series[Math.min(i++, series.length - 1)]! / 100) * 48, 48) }));
    const { m, got } = makeMonitor(clock, srv.transport);
    m.start();
    await step(clock, 0);
    for (let k = 0; k < 12; k++) await step(clock);
    expect(got.limits.map((e) => `${e.kind}:${e.level}`)).toEqual(['memory:warning', 'memory:critical']);
    expect(got.limits[0]!.title).toBe('Memory at 81 % — Large class');
    expect(got.limits[1]).toMatchObject({ action: 'open-class-picker', title: 'Memory at 96 % — Large class' });

    const clock2 = new FakeClock();
    const srv2 = await fakeServer(clock2, () => ({ status: 200, body: metrics(1) }));
    const { m: m2, got: got2 } = makeMonitor(clock2, srv2.transport, { notebookClass: { label: 'Default' } });
    m2.start();
    await step(clock2, 0);
    await step(clock2);
    expect(got2.samples).toHaveLength(2);
    expect(got2.notices.map((n) => n.code)).toEqual(['memory-limit-unknown']);
    expect(got2.notices[0]!.message).toMatch(/Default class names none/);
  });

  it('the class memory stands in for a server without MEM_LIMIT', async () => {
    const clock = new FakeClock();
    const srv = await fakeServer(clock, () => ({ status: 200, body: metrics(0.39) }));
    const { m, got } = makeMonitor(clock, srv.transport, { notebookClass: { label: 'Tiny', memoryGB: 0.4 } });
    m.start();
    await step(clock, 0);
    expect(got.samples[0]).toMatchObject({ limitSource: 'class', limitBytes: Math.round(0.4 * GB) });
    expect(got.limits.map((e) => e.level)).toEqual(['critical']);
    expect(got.limits[0]!.body).toContain('uses 399 of 410 MB');
  });

  it('errors: keeps going, says so once after three in a row, backs off to 30 s', async () => {
    const clock = new FakeClock();
    let status = 500;
    const srv = await fakeServer(clock, () => (status === 200 ? { status, body: metrics(1, 48) } : { status, body: 'oops' }));
    const { m, got } = makeMonitor(clock, srv.transport);
    m.start();
    await step(clock, 0);
    expect(clock.nextDelay).toBe(5_000);
    await step(clock);
    await step(clock);
    expect(got.notices.map((n) => n.code)).toEqual(['metrics-failing']);
    expect(got.notices[0]!.message).not.toContain('secret-token');
    expect(clock.nextDelay).toBe(30_000);
    for (let k = 0; k < 10; k++) await step(clock);
    expect(got.notices).toHaveLength(1);
    status = 200;
    await step(clock);
    expect(got.samples).toHaveLength(1);
    expect(clock.nextDelay).toBe(5_000);
    status = 502;
    for (let k = 0; k < 5; k++) await step(clock);
    expect(got.notices).toHaveLength(1);
  });

  it('garbage answers count as failures, not as samples', async () => {
    const clock = new FakeClock();
    const srv = await fakeServer(clock, () => ({ status: 200, body: '<html>sign in</html>' }));
    const { m, got } = makeMonitor(clock, srv.transport);
    m.start();
    for (let k = 0; k < 3; k++) await step(clock, k === 0 ? 0 : undefined);
    expect(got.samples).toEqual([]);
    expect(got.notices.map((n) => n.code)).toEqual(['metrics-failing']);
    expect(got.notices[0]!.message).toMatch(/HTML page/);
  });

  it('measures clock skew from Date headers and uses it for the runtime', async () => {
    const clock = new FakeClock();
    const hubSkew = 10 * MIN; // the hub's clock is 10 minutes ahead of the laptop's
    const srv = await fakeServer(clock, () => ({ status: 200, body: metrics(1, 48) }), hubSkew);
    // Started 25 minutes ago in hub time, 1 h class: 35 minutes left, ends at local 12:35.
    const started = new Date(T0 + hubSkew - 25 * MIN).toISOString();
    const { m, got } = makeMonitor(clock, srv.transport, { started, notebookClass: { label: 'Large', memoryGB: 48, runtimeHours: 1 } });
    m.start();
    await step(clock, 0);
    expect(Math.abs(m.skewMs - hubSkew)).toBeLessThanOrEqual(500);
    expect(got.limits).toEqual([]); // ignoring the skew would say 25 minutes left
    for (let k = 0; k < 61; k++) await step(clock);
    expect(got.limits).toHaveLength(1);
    expect(got.limits[0]).toMatchObject({ kind: 'runtime', title: '30 minutes left — Large class' });
    expect(got.limits[0]!.body).toMatch(/stopped at 12:35\.$/);
  });

  it('notices the server ending: post-mortem, then silence and no timers', async () => {
    const clock = new FakeClock();
    const srv = await fakeServer(clock, () => ({ status: 200, body: metrics(47, 48) }));
    let model: ServerModel | null = { name: '', ready: true, pending: null, started: '2025-03-04T11:00:00.000000Z', url: '/jhub/user/alice/', user_options: {}, progress_url: '' };
    const fetchServerModel = vi.fn(() => Promise.resolve(model));
    const { m, got } = makeMonitor(clock, srv.transport, { fetchServerModel, serverCheckMs: 60_000, notebookClass: { label: 'Large', memoryGB: 48, runtimeHours: 3 } });
    m.start();
    await step(clock, 0);
    expect(fetchServerModel).toHaveBeenCalledTimes(1);
    for (let k = 0; k < 11; k++) await step(clock);
    expect(fetchServerModel).toHaveBeenCalledTimes(1); // once a minute, not every poll
    await step(clock);
    expect(fetchServerModel).toHaveBeenCalledTimes(2);

    model = null;
    await runUntilEnded(clock, got.ended);
    expect(got.ended).toHaveLength(1);
    expect(got.ended[0]).toMatchObject({ cause: 'memory', at: clock.now() });
    expect(got.ended[0]!.message).toMatch(/ran out of memory: it last used 47\.0 of 48 GB/);
    expect(clock.pending).toBe(0);
    const requests = srv.seen.length;
    clock.advance(60 * MIN);
    m.setVisible(false);
    m.setVisible(true);
    m.setReconnecting(true);
    m.setReconnecting(false);
    await new Promise((r) => setTimeout(r, 30));
    expect(srv.seen).toHaveLength(requests);
    expect(clock.pending).toBe(0);
  });

  it('a 404 from a server that has gone ends the watch without the memory notice', async () => {
    const clock = new FakeClock();
    const srv = await fakeServer(clock, () => ({ status: 404 }));
    const { m, got } = makeMonitor(clock, srv.transport, { fetchServerModel: () => Promise.resolve(null), started: '2025-03-04T11:59:00Z' });
    m.start();
    clock.advance(0);
    await vi.waitFor(() => expect(got.ended).toHaveLength(1));
    expect(got.ended[0]!.cause).toBe('stopped');
    expect(got.notices).toEqual([]);
    expect(clock.pending).toBe(0);
  });

  it('a different start time in the model means our server was replaced', async () => {
    const clock = new FakeClock();
    const srv = await fakeServer(clock, () => ({ status: 404 }));
    const base = { name: '', ready: true, pending: null, url: '/jhub/user/alice/', user_options: {}, progress_url: '' };
    let started = '2025-03-04T11:00:00.000000Z';
    const { m, got } = makeMonitor(clock, srv.transport, { started: null, fetchServerModel: () => Promise.resolve({ ...base, started }) });
    m.start();
    await step(clock, 0); // started taken from the model
    for (let k = 0; k < 5; k++) await step(clock);
    expect(got.ended).toEqual([]);
    started = '2025-03-04T12:00:03.000000Z';
    await runUntilEnded(clock, got.ended);
    expect(got.ended).toHaveLength(1);
    expect(got.ended[0]!.cause).toBe('stopped');
  });

  it('a hidden window hears each runtime mark on time, between its 30 s polls, at no extra request', async () => {
    const clock = new FakeClock();
    const hubSkew = 10 * MIN; // the hub's clock is 10 minutes ahead
    const srv = await fakeServer(clock, () => ({ status: 200, body: metrics(1, 48) }), hubSkew);
    // A 1 h class started 24 min 40 s ago by the hub's clock: the marks come 5:20, 25:20 and
    // 30:20 from now, each 20 s after a poll and 10 s before the next.
    const startedHub = T0 + hubSkew - (24 * MIN + 40_000);
    const { m, got } = makeMonitor(clock, srv.transport, {
      started: new Date(startedHub).toISOString(),
      visible: false,
      notebookClass: { label: 'Large', memoryGB: 48, runtimeHours: 1 },
    });
    m.start();
    await step(clock, 0);
    expect(clock.nextDelay).toBe(30_000);
    while (clock.now() < T0 + 31 * MIN) await step(clock);

    expect(Math.abs(m.skewMs - hubSkew)).toBeLessThanOrEqual(500);
    const endLocal = startedHub + 60 * MIN - m.skewMs;
    expect(got.limits.map((e) => (e.kind === 'runtime' ? e.markMs : e.kind))).toEqual([30 * MIN, 10 * MIN, 5 * MIN]);
    for (const e of got.limits) {
      if (e.kind !== 'runtime') continue;
      // Told at the mark (by the hub's clock, skew corrected), not at the next poll 10 s later.
      expect(Math.abs(e.at - (endLocal - e.markMs))).toBeLessThanOrEqual(1);
      expect(Math.abs(e.leftMs - e.markMs)).toBeLessThanOrEqual(1);
    }
    expect(got.limits.map((e) => e.title)).toEqual(['30 minutes left — Large class', '10 minutes left — Large class', '5 minutes left — Large class']);
    // The marks' timers sent nothing: one request per 30 s poll.
    expect(srv.seen).toHaveLength(1 + Math.floor((clock.now() - T0) / 30_000));
    expect(clock.pending).toBe(1);
  });

  it('tells runtime marks while reconnecting (no poll, no request), and polls again after', async () => {
    const clock = new FakeClock();
    const srv = await fakeServer(clock, () => ({ status: 200, body: metrics(1, 48) }));
    const startedHub = T0 - 28 * MIN; // 1 h class: the 30-minute mark in 2 minutes
    const { m, got } = makeMonitor(clock, srv.transport, { started: new Date(startedHub).toISOString(), notebookClass: { label: 'Large', memoryGB: 48, runtimeHours: 1 } });
    m.start();
    await step(clock, 0);
    m.setReconnecting(true);
    // Only the mark's timer is left.
    expect(clock.pending).toBe(1);
    expect(clock.nextDelay).toBe(Math.ceil(startedHub + 30 * MIN - m.skewMs - T0));
    clock.advance(23 * MIN); // 32 minutes were left: the 30- and 10-minute marks pass
    expect(got.limits.map((e) => e.title)).toEqual(['30 minutes left — Large class', '10 minutes left — Large class']);
    expect(srv.seen).toHaveLength(1);
    m.setReconnecting(false);
    expect(clock.nextDelay).toBe(0);
    await step(clock, 0);
    expect(srv.seen).toHaveLength(2);
  });

  it('a laptop waking past two marks hears only the most urgent, once, then the next on time', async () => {
    const clock = new FakeClock();
    const srv = await fakeServer(clock, () => ({ status: 200, body: metrics(1, 48) }));
    const startedHub = T0 - 29 * MIN; // 1 h class: marks at +1, +21 and +26 minutes
    const { m, got } = makeMonitor(clock, srv.transport, { started: new Date(startedHub).toISOString(), visible: false, notebookClass: { label: 'Large', memoryGB: 48, runtimeHours: 1 } });
    m.start();
    await step(clock, 0);
    clock.jump(24 * MIN); // asleep: no timer ran; 7 minutes are left on waking
    await step(clock, 0);
    expect(got.limits).toHaveLength(1);
    expect(got.limits[0]).toMatchObject({ kind: 'runtime', markMs: 10 * MIN, level: 'warning', title: '7 minutes left — Large class' });
    while (clock.now() < T0 + 27 * MIN) await step(clock);
    expect(got.limits.map((e) => e.title)).toEqual(['7 minutes left — Large class', '5 minutes left — Large class']);
    const last = got.limits[1]!;
    expect(Math.abs(last.at - (startedHub + 55 * MIN - m.skewMs))).toBeLessThanOrEqual(1);
  });

  it('dispose() aborts the request under way and leaves no timer behind', async () => {
    const clock = new FakeClock();
    const srv = await fakeServer(clock, () => ({ status: 200, body: metrics(47, 48), hold: true }));
    const timeouts = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const { m, got } = makeMonitor(clock, srv.transport, { requestTimeoutMs: 60_000 });
    m.start();
    clock.advance(0);
    await vi.waitFor(() => expect(srv.held).toBe(1));
    // hubRequest's own (real) timeout timer is running now; dispose() must end it with the request.
    const during = timeouts();
    m.dispose();
    await vi.waitFor(() => expect(srv.closedEarly).toBe(1));
    await new Promise((r) => setTimeout(r, 20));
    expect(clock.pending).toBe(0);
    expect(timeouts()).toBeLessThan(during);
    srv.release();
    clock.advance(60 * MIN);
    expect(got.samples).toEqual([]);
    expect(got.limits).toEqual([]);
    m.start(); // a disposed monitor stays stopped
    expect(clock.pending).toBe(0);
  });

  it('dispose() with the real clock leaves no timers (vi fake timers)', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const clock = new FakeClock(); // only for the server's Date header
      const srv = await fakeServer(clock, () => ({ status: 404 }));
      const m = new LimitsMonitor({ transport: srv.transport, token: () => 't', serverUrlPath: '/jhub/user/alice', started: null, notebookClass: { label: 'Large' } });
      const notices: MonitorNotice[] = [];
      m.on('notice', (n) => notices.push(n));
      m.start();
      expect(vi.getTimerCount()).toBe(1);
      await vi.advanceTimersByTimeAsync(0);
      await vi.waitFor(() => expect(notices).toHaveLength(1));
      expect(vi.getTimerCount()).toBe(1);
      m.dispose();
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});

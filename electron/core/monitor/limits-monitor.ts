import { EventEmitter } from 'node:events';
import { isRoamlabError } from '../errors';
import type { ServerModel } from '../hub/hub-client';
import { hubErrorFromResponse, hubRequest, type ServerHost } from '../hub/http';
import type { HubTransport } from '../transport/transport';
import { ClockSkew, runtimeLeftMs } from './clock-skew';
import {
  DEFAULT_POLL_INTERVALS,
  LimitsTracker,
  classPhrase,
  pollIntervalMs,
  postMortem,
  resolveThresholds,
  type LimitEvent,
  type LimitThresholds,
  type PollIntervals,
  type PostMortem,
  type ThresholdOverrides,
} from './limits-policy';
import { parseMetricsBody, type MetricsSample } from './metrics';

/** Time and timers, injectable so tests drive the schedule by hand. */
export interface MonitorClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: MonitorClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export type MonitorNoticeCode = 'memory-unsupported' | 'memory-limit-unknown' | 'metrics-failing';

/** Something a person should know once about what is (not) being watched. */
export interface MonitorNotice {
  code: MonitorNoticeCode;
  message: string;
}

export interface LimitsMonitorEvents {
  metrics: [MetricsSample];
  limit: [LimitEvent];
  notice: [MonitorNotice];
  ended: [PostMortem];
}

export interface MonitoredClass {
  label: string;
  memoryGB?: number;
  runtimeHours?: number;
}

export interface LimitsMonitorOptions {
  /** The session's transport: requests go the way the Lab window's do (direct or through SSH). */
  transport: HubTransport;
  /** The hub token, read at each request (it may be renewed). Sent only as `Authorization: token …`. */
  token: () => string;
  /** The server's URL path as the hub gives it, e.g. '/jhub/user/alice/'. */
  serverUrlPath: string;
  /** On a hub with subdomain_host: the user's host that path is on. */
  serverHost?: ServerHost;
  /** The server's start in the hub's clock (ISO), or null when not known yet (then taken from the server model). */
  started: string | null;
  notebookClass: MonitoredClass;
  thresholds?: LimitThresholds | ThresholdOverrides;
  clock?: MonitorClock;
  /** The server's current model, to notice it ending; null when it is gone. */
  fetchServerModel?: () => Promise<ServerModel | null>;
  /** Whether the Lab window is visible at the start (default true). */
  visible?: boolean;
  intervals?: PollIntervals;
  /** Limit for one metrics request (default 10 s). */
  requestTimeoutMs?: number;
  /** After a 404 (no jupyter-resource-usage), how often to ask again (default 10 minutes). */
  metricsRecheckMs?: number;
  /** How often to ask the hub whether the server still runs (default 60 s; sooner after a failure). */
  serverCheckMs?: number;
  formatTime?: (localMs: number) => string;
}

/** After this many failed readings in a row, say so (once) and poll at the slow rate. */
const FAILURES_BEFORE_NOTICE = 3;

/**
 * Watches one running server's memory (jupyter-resource-usage's metrics API) and runtime (the
 * class's limit from the server's start) and says when either nears its end; notices the server
 * ending and says why. At most one request is in flight; one timer is pending at a time; both
 * belong to the monitor and dispose() releases them.
 *
 * Nothing happens until start(), so listeners can be attached first.
 */
export class LimitsMonitor extends EventEmitter<LimitsMonitorEvents> {
  private readonly clock: MonitorClock;
  private readonly tracker: LimitsTracker;
  private readonly thresholds: LimitThresholds;
  private readonly skew = new ClockSkew();
  private readonly serverPath: string;
  private readonly intervals: PollIntervals;
  private readonly requestTimeoutMs: number;
  private readonly metricsRecheckMs: number;
  private readonly serverCheckMs: number;
  private started: string | null;

  private visible: boolean;
  private reconnecting = false;
  private running = false;
  private disposed = false;
  private ended = false;
  private busy = false;
  private timer: unknown;
  private hasTimer = false;
  /** Local time of the next poll; undefined while paused (reconnecting) or stopped. */
  private nextPollAt: number | undefined;
  private inFlight: AbortController | undefined;

  private metricsMode: 'unknown' | 'available' | 'unsupported' = 'unknown';
  private nextMetricsRecheckAt = 0;
  private failures = 0;
  private lastServerCheckAt: number | undefined;
  private serverCheckDue = false;
  private readonly noticesGiven = new Set<MonitorNoticeCode>();
  private last: MetricsSample | undefined;

  constructor(private readonly o: LimitsMonitorOptions) {
    super();
    this.clock = o.clock ?? systemClock;
    this.thresholds = resolveThresholds(o.thresholds);
    this.tracker = new LimitsTracker({ classLabel: o.notebookClass.label, thresholds: this.thresholds, formatTime: o.formatTime });
    this.serverPath = o.serverUrlPath.endsWith('/') ? o.serverUrlPath : `${o.serverUrlPath}/`;
    this.started = o.started;
    this.visible = o.visible ?? true;
    this.intervals = o.intervals ?? DEFAULT_POLL_INTERVALS;
    this.requestTimeoutMs = o.requestTimeoutMs ?? 10_000;
    this.metricsRecheckMs = o.metricsRecheckMs ?? 10 * 60_000;
    this.serverCheckMs = o.serverCheckMs ?? 60_000;
  }

  /** The most recent reading, if any. */
  get lastSample(): MetricsSample | undefined {
    return this.last;
  }

  /** The running estimate of hub − local clock, ms. */
  get skewMs(): number {
    return this.skew.skewMs;
  }

  /** Begin polling (the first reading right away). Idempotent. */
  start(): void {
    if (this.running || this.disposed || this.ended) return;
    this.running = true;
    this.schedule(0);
  }

  /** The Lab window was shown or hidden: poll every 5 s or every 30 s. Shown → a fresh reading now. */
  setVisible(visible: boolean): void {
    const was = this.visible;
    this.visible = visible;
    if (visible && !was && !this.busy) this.schedule(0);
  }

  /** While the session reconnects, nothing is polled and a request under way is dropped. */
  setReconnecting(reconnecting: boolean): void {
    if (reconnecting === this.reconnecting) return;
    this.reconnecting = reconnecting;
    if (reconnecting) {
      this.inFlight?.abort();
      // No more polls; the timer for the next runtime mark stays (it needs no network).
      if (!this.busy) this.schedule();
    } else if (!this.busy) {
      this.schedule(0);
    }
  }

  /** Stop for good: the timer is cleared and a request under way aborted. No event follows. */
  dispose(): void {
    this.disposed = true;
    this.clearTimer();
    this.inFlight?.abort();
    this.inFlight = undefined;
  }

  // -------------------------------------------------------------------------------------------

  private get stopped(): boolean {
    return this.disposed || this.ended;
  }

  private clearTimer(): void {
    if (this.hasTimer) this.clock.clearTimeout(this.timer);
    this.hasTimer = false;
    this.timer = undefined;
  }

  /**
   * Plan the next poll (`delayMs` from now, else the interval for the window's visibility) and
   * arm the one timer. While reconnecting there is no poll, but runtime marks are still told.
   */
  private schedule(delayMs?: number): void {
    this.clearTimer();
    this.nextPollAt = undefined;
    if (!this.running || this.stopped) return;
    let interval = pollIntervalMs({ visible: this.visible, reconnecting: this.reconnecting }, this.intervals);
    if (interval !== null) {
      // A run of failures: back off to the slow rate until a reading succeeds.
      if (this.failures >= FAILURES_BEFORE_NOTICE) interval = Math.max(interval, this.intervals.hiddenMs);
      this.nextPollAt = this.clock.now() + (delayMs ?? interval);
    }
    this.arm();
  }

  /**
   * One timer: for the next poll, or for the next runtime mark when that comes first. A mark's
   * timer only compares the clock with the runtime — no request — so a hidden Lab window, polled
   * every 30 s, still hears "10 minutes left" on time, and the marks cost nothing on the wire.
   */
  private arm(): void {
    this.clearTimer();
    if (!this.running || this.stopped) return;
    const now = this.clock.now();
    const untilPoll = this.nextPollAt === undefined ? undefined : Math.max(0, this.nextPollAt - now);
    const untilMark = this.msUntilNextMark(now);
    if (untilPoll === undefined && untilMark === undefined) return;
    const markFirst = untilMark !== undefined && (untilPoll === undefined || untilMark < untilPoll);
    this.hasTimer = true;
    this.timer = this.clock.setTimeout(
      () => {
        this.hasTimer = false;
        this.timer = undefined;
        if (markFirst) this.onMark();
        else void this.tick();
      },
      markFirst ? untilMark : untilPoll!,
    );
  }

  /** ms until the next runtime mark is reached, or undefined when no mark is left or the runtime is not known. */
  private msUntilNextMark(now: number): number | undefined {
    const hours = this.o.notebookClass.runtimeHours;
    const mark = this.tracker.nextMarkMs();
    if (!hours || !this.started || mark === undefined) return undefined;
    const left = runtimeLeftMs(this.started, hours, now, this.skew.skewMs);
    if (left === undefined) return undefined;
    // At least 1 ms, rounded up: a timer never fires a hair before its mark, and a mark already
    // due is told by the next check rather than by a burst of zero-delay timers.
    return Math.max(1, Math.ceil(left - mark));
  }

  private onMark(): void {
    if (this.busy || this.stopped) return;
    this.checkRuntime();
    this.arm();
  }

  private async tick(): Promise<void> {
    if (this.busy || this.stopped || this.reconnecting) return;
    this.busy = true;
    try {
      await this.poll();
    } finally {
      this.busy = false;
      this.schedule();
    }
  }

  private async poll(): Promise<void> {
    if (this.metricsMode !== 'unsupported' || this.clock.now() >= this.nextMetricsRecheckAt) {
      await this.readMetrics();
      if (this.stopped || this.reconnecting) return;
    }
    this.checkRuntime();
    const now = this.clock.now();
    if (this.o.fetchServerModel && (this.serverCheckDue || this.lastServerCheckAt === undefined || now - this.lastServerCheckAt >= this.serverCheckMs)) {
      await this.checkServer();
    }
  }

  private async readMetrics(): Promise<void> {
    const ac = new AbortController();
    this.inFlight = ac;
    const sentAt = this.clock.now();
    let res;
    try {
      res = await hubRequest(this.o.transport, {
        method: 'GET',
        path: `${this.serverPath}api/metrics/v1`,
        headers: { Authorization: `token ${this.o.token()}`, Accept: 'application/json' },
        timeoutMs: this.requestTimeoutMs,
        signal: ac.signal,
        action: 'read the memory use of your server',
        host: this.o.serverHost,
      });
    } catch (e) {
      if (this.stopped || ac.signal.aborted) return;
      this.failed(isRoamlabError(e) ? e.message : String(e));
      return;
    } finally {
      if (this.inFlight === ac) this.inFlight = undefined;
    }
    if (this.stopped) return;
    const receivedAt = this.clock.now();
    this.skew.observe(res.headers.date, sentAt, receivedAt);

    if (res.status === 404) {
      this.metricsMode = 'unsupported';
      this.nextMetricsRecheckAt = receivedAt + this.metricsRecheckMs;
      this.failures = 0;
      // A 404 may also mean the server is gone (the hub answering for it): ask before saying anything.
      if (this.o.fetchServerModel) {
        await this.checkServer();
        if (this.stopped) return;
      }
      this.noticeOnce(
        'memory-unsupported',
        `Memory unknown: this server does not report memory (no jupyter-resource-usage); only runtime is watched${this.o.notebookClass.runtimeHours ? '' : ', and the class has no runtime limit'}.`,
      );
      return;
    }
    if (res.status !== 200) {
      this.failed(hubErrorFromResponse(res, { action: 'read the memory use of your server', target: res.target }).message);
      return;
    }
    let sample: MetricsSample;
    try {
      sample = parseMetricsBody(res.body, { at: receivedAt, classMemoryGB: this.o.notebookClass.memoryGB, target: res.target });
    } catch (e) {
      this.failed(isRoamlabError(e) ? e.message : String(e));
      return;
    }
    this.metricsMode = 'available';
    this.failures = 0;
    this.last = sample;
    this.emit('metrics', sample);
    if (sample.limitSource === 'none') {
      this.noticeOnce(
        'memory-limit-unknown',
        `Memory limit unknown: the server reports its memory use but no limit, and the ${classPhrase(this.o.notebookClass.label)} names none; only runtime is watched.`,
      );
    }
    for (const ev of this.tracker.onMemory(sample)) this.emit('limit', ev);
  }

  private failed(message: string): void {
    this.failures++;
    // A failing reading may be the first sign of the server's end.
    this.serverCheckDue = true;
    if (this.failures === FAILURES_BEFORE_NOTICE) {
      this.noticeOnce('metrics-failing', `Memory readings are failing (${message}); still trying, less often.`);
    }
  }

  private checkRuntime(): void {
    const hours = this.o.notebookClass.runtimeHours;
    if (!hours || !this.started) return;
    const now = this.clock.now();
    const left = runtimeLeftMs(this.started, hours, now, this.skew.skewMs);
    if (left === undefined) return;
    for (const ev of this.tracker.onRuntime(left, now)) this.emit('limit', ev);
    if (left <= 0) this.serverCheckDue = true;
  }

  private async checkServer(): Promise<void> {
    const fetch = this.o.fetchServerModel;
    if (!fetch) return;
    this.lastServerCheckAt = this.clock.now();
    let model: ServerModel | null;
    try {
      model = await fetch();
    } catch {
      // The hub is out of reach: that is the supervisor's business, not a verdict on the server.
      return;
    }
    if (this.stopped) return;
    this.serverCheckDue = false;
    if (model && !this.started && model.started) this.started = model.started;
    // A different start time is a new server in the same slot: ours has ended.
    const replaced = !!(model?.started && this.started && model.started !== this.started);
    if (!model || !model.ready || model.pending === 'stop' || model.stopped === true || replaced) this.end();
  }

  /** The session found the server gone (e.g. after a reconnect): end with the post-mortem now. */
  serverGone(): void {
    this.end();
  }

  private end(): void {
    if (this.stopped) return;
    this.ended = true;
    this.clearTimer();
    this.inFlight?.abort();
    const pm = postMortem({
      lastSample: this.last,
      started: this.started,
      runtimeHours: this.o.notebookClass.runtimeHours,
      endedAt: this.clock.now(),
      skewMs: this.skew.skewMs,
      classLabel: this.o.notebookClass.label,
      thresholds: this.thresholds,
      formatTime: this.o.formatTime,
    });
    this.emit('ended', pm);
  }

  private noticeOnce(code: MonitorNoticeCode, message: string): void {
    if (this.noticesGiven.has(code) || this.stopped) return;
    this.noticesGiven.add(code);
    this.emit('notice', { code, message });
  }
}

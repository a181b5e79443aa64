import { EventEmitter } from 'node:events';
import { RoamlabError, isRoamlabError } from '../errors';
import type { Keychain } from '../keychain/keychain';
import type { Logger } from '../log';
import type { FacilityProfile, NotebookClass } from '../profile/schema';
import { HubClient, type ServerModel, type SpawnProgress } from '../hub/hub-client';
import type { HubTransport } from '../transport/transport';
import { connectTcp, hubTarget } from '../transport/ssh-transport';
import { firstHop } from '../transport/open';
import type { LocalGateway } from '../gateway/gateway';
import { ensureToken } from './credentials';
import { onceMoreIfReusedDied } from './hub-access';
import { canTransition, TransitionError, type SessionState } from './session-machine';
import { LimitsMonitor, type MonitorNotice } from '../monitor/limits-monitor';
import type { LimitEvent, ThresholdOverrides } from '../monitor/limits-policy';
import type { MetricsSample } from '../monitor/metrics';
import { runtimeLeftMs } from '../monitor/clock-skew';
import { hubRequest } from '../hub/http';
import { LiveTransport } from './live-transport';
import { backoffDelayMs, backReason, lossReason, reconnectingReason, type LossCause } from './reconnect-policy';
import { landingPath, openPlaceScript } from './place';

export interface SessionOptions {
  profile: FacilityProfile;
  keychain: Keychain;
  username: string;
  notebookClass: NotebookClass;
  /** '' is the user's default server; anything else a named server. */
  serverName?: string;
  /** A file or folder in the server to open first (a bookmark's place; session/place.ts). */
  place?: string;
  /** A fresh connection to the hub; `signal` aborts one still connecting (a reconnect overtaken). */
  openTransport: (signal?: AbortSignal) => Promise<HubTransport>;
  log: Logger;
  /** Fixed gateway port (0 or absent: any free port). */
  port?: number;
  /** Limits monitoring while ready (default on); thresholds are the person's per facility. */
  monitor?: false | { thresholds?: ThresholdOverrides; visible?: boolean };
  /** Watching the link while ready (default on). */
  supervise?: false | SuperviseOptions;
}

export interface SuperviseOptions {
  /** How often the hub is probed through the session's link, ms (default 5000). */
  probeIntervalMs?: number;
  /** How long a probe may take, ms (default 4000). */
  probeTimeoutMs?: number;
  /** Probe failures in a row that count as a lost link (default 2). */
  probeFailures?: number;
  /**
   * A timer that fires this late (ms) means the process was not running: the laptop slept (or
   * the process was stopped). Default 4000; 0 turns the check off (the shell has powerMonitor).
   */
  sleepGapMs?: number;
  /** Backoff between reconnect attempts (see reconnect-policy). */
  backoff?: { baseMs?: number; capMs?: number };
  /** How long requests to the gateway wait for the link before "reconnecting" (default 4000). */
  waitForLinkMs?: number;
}

/** What the shell or the CLI knows about the outside world. */
export type OutsideSignal = 'network-down' | 'network-up' | 'resume';

export interface SessionEvents {
  state: [SessionState];
  /** Node stats while ready: memory, CPU, runtime left (the limits monitor's samples). */
  metrics: [MetricsSample & { runtimeLeftMs?: number }];
  /** A memory or runtime threshold crossed: words to show, once per crossing. */
  limit: [LimitEvent];
  /** Something the person should know once, e.g. that memory cannot be watched on this hub. */
  notice: [MonitorNotice];
  /** Timers ran this late: the computer slept (or the process was stopped); the link is checked now. */
  wake: [{ sleptMs: number }];
}

/**
 * One session: from stored credentials to a Lab page on 127.0.0.1. Owns its transport, its
 * gateway and every listener it makes; close() releases them all and leaves the server running.
 */
export class Session extends EventEmitter<SessionEvents> {
  private current: SessionState = { name: 'signed-out', reason: 'not started' };
  private transport: LiveTransport | undefined;
  private gateway: LocalGateway | undefined;
  private hub: HubClient | undefined;
  private token = '';
  private server: ServerModel | null = null;
  private monitor: LimitsMonitor | undefined;
  readonly serverName: string;
  // supervision (while ready, degraded or reconnecting)
  private supervising = false;
  private probeTimer: NodeJS.Timeout | undefined;
  private probing: Promise<boolean> | undefined;
  private probeFailuresInRow = 0;
  private sleepTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private reconnectInFlight: Promise<void> | undefined;
  /** Aborts the attempt in flight when a network-up or resume makes a fresh one the better bet. */
  private attemptAbort: AbortController | undefined;
  private againAfterAbort = false;
  /** While waiting out a long backoff after "no network" errors: is the gateway reachable yet? */
  private reachTimer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private downSince = 0;
  private downReason = '';
  private landing: { url: string; port: number; lab: boolean } | undefined;
  /** Drops this session came back from (for status lines and tests). */
  reconnects = 0;

  constructor(private readonly o: SessionOptions) {
    super();
    this.serverName = o.serverName ?? '';
  }

  get state(): SessionState {
    return this.current;
  }

  get serverModel(): ServerModel | null {
    return this.server;
  }

  /** The server's URL path with a trailing slash (`/jhub/user/ana/`), once the hub has named it. */
  get serverPath(): string | undefined {
    if (!this.server) return undefined;
    return this.server.url.endsWith('/') ? this.server.url : `${this.server.url}/`;
  }

  private go(next: SessionState): void {
    if (!canTransition(this.current.name, next.name)) throw new TransitionError(this.current.name, next.name);
    this.current = next;
    this.o.log.info(`session ${this.o.profile.id}/${this.o.username}${this.serverName ? '/' + this.serverName : ''}: ${next.name} — ${next.reason}`);
    this.emit('state', next);
  }

  /** Run the path to ready. Resolves with the entry URL for the Lab window. */
  async start(signal?: AbortSignal): Promise<string> {
    const { profile, username, notebookClass } = this.o;
    try {
      this.go({ name: 'authenticating', reason: `signing in to ${profile.name}${profile.ssh ? ` through ${profile.ssh.host}` : ''}` });
      const { transport, hub, existing } = await this.firstContact();
      if (existing?.ready) {
        this.server = existing;
        this.go({ name: 'connecting', reason: 'your server is already running; connecting to it' });
      } else {
        this.go({ name: 'spawning', reason: existing?.pending ? `the hub is still busy (${existing.pending}); waiting` : `starting a ${notebookClass.label} server`, progress: 0 });
        const onProgress = (p: SpawnProgress) => this.go({ name: 'spawning', reason: p.message, progress: p.progress, message: p.message });
        // A spawn already under way (another window, an earlier run) is followed, not requested twice.
        this.server =
          existing?.pending === 'spawn'
            ? await hub.waitForSpawn(this.token, username, this.serverName, { signal, onProgress })
            : await hub.spawn(this.token, username, this.serverName, notebookClass.userOptions, { signal, onProgress });
        this.go({ name: 'connecting', reason: 'server ready; opening the local gateway' });
      }

      const serverPath = this.serverPath!;
      if (!serverPath.startsWith('/')) {
        throw new RoamlabError(
          'hub-garbage',
          `The hub gave your server's address as "${serverPath}", which is neither a path on the hub nor a URL Roamlab can reach.`,
          'Tell the facility about it; the hub URL in the profile may also be wrong.',
        );
      }
      const serverHost = this.server?.host;
      const lab = await hub.labAvailable(this.token, serverPath, serverHost);
      // Loaded here, not at start: the gateway and ws (which loads https and tls) cost load time
      // that a command-line start which never gets this far should not pay (BENCHMARKS.md, setup).
      const { LocalGateway } = await import('../gateway/gateway.js');
      this.gateway = new LocalGateway({
        transport,
        token: () => this.token,
        landingPath: landingPath(serverPath, lab, this.o.place),
        serverHost,
        port: this.o.port,
        facilityName: profile.name,
        onAuthRejected: () => void this.renewToken('the hub refused a request of the page'),
        waitForLinkMs: this.o.supervise ? this.o.supervise.waitForLinkMs : undefined,
        log: (l) => this.o.log.info(l),
      });
      const port = await this.gateway.listen();
      const url = this.gateway.entryUrl();
      this.landing = { url, port, lab };
      this.go({ name: 'ready', reason: lab ? 'JupyterLab is ready' : 'the notebook server is ready (this hub has no JupyterLab; using the classic interface)', url, port });
      this.startMonitor(serverPath);
      this.startSupervision();
      return url;
    } catch (e) {
      await this.releaseAll();
      const err = isRoamlabError(e) ? e : new RoamlabError('hub-unreachable', `Unexpected failure: ${(e as Error).message}`, 'Try again; if it keeps failing, report it with the log file.', {}, { cause: e });
      if (this.current.name !== 'ended') {
        this.go({ name: 'ended', reason: err.message, error: { kind: err.kind, message: err.message, hint: err.hint, details: { ...err.details } } });
      }
      throw err;
    }
  }

  /**
   * The connection, a token the hub takes, and the server's model: nothing asked of the hub yet
   * that could not be asked again, so a shared SSH connection that proves dead here (the
   * computer slept) is replaced rather than ending the session (onceMoreIfReusedDied).
   */
  private firstContact(): Promise<{ transport: LiveTransport; hub: HubClient; existing: ServerModel | null }> {
    return onceMoreIfReusedDied(
      () => this.o.openTransport(),
      async (opened) => {
        const live = new LiveTransport(opened);
        const hub = new HubClient({ transport: live });
        this.transport = live;
        this.hub = hub;
        try {
          this.token = await this.acceptedToken(hub);
          return { transport: live, hub, existing: await hub.server(this.token, this.o.username, this.serverName) };
        } catch (e) {
          this.transport = undefined;
          await live.close();
          throw e;
        }
      },
      (lost) => this.o.log.info(`session: the open SSH connection it reused was lost (${lost}); once more on a new one`),
    );
  }

  private startMonitor(serverPath: string): void {
    if (this.o.monitor === false || !this.transport || !this.hub) return;
    const hub = this.hub;
    const { notebookClass, username } = this.o;
    const monitor = new LimitsMonitor({
      transport: this.transport,
      token: () => this.token,
      serverUrlPath: serverPath,
      serverHost: this.server?.host,
      started: this.server?.started ?? null,
      notebookClass: { label: notebookClass.label, memoryGB: notebookClass.memoryGB, runtimeHours: notebookClass.runtimeHours },
      thresholds: this.o.monitor?.thresholds,
      visible: this.o.monitor?.visible ?? true,
      fetchServerModel: async () => {
        try {
          return await hub.server(this.token, username, this.serverName);
        } catch (e) {
          // A token revoked at the hub while connected: replace it now, not at the next drop.
          if (isRoamlabError(e, 'hub-forbidden') && (await this.renewToken('the hub refused the token'))) return hub.server(this.token, username, this.serverName);
          throw e;
        }
      },
    });
    monitor.on('metrics', (sample) => {
      const started = this.server?.started;
      const hours = notebookClass.runtimeHours;
      const left = started && hours ? runtimeLeftMs(started, hours, Date.now(), monitor.skewMs) : undefined;
      this.emit('metrics', { ...sample, runtimeLeftMs: left });
    });
    monitor.on('limit', (e) => {
      this.o.log.info(`limit: ${e.kind} ${e.level}: ${e.title}`);
      this.emit('limit', e);
    });
    monitor.on('notice', (n) => this.emit('notice', n));
    monitor.on('ended', (pm) => {
      this.o.log.info(`server ended: ${pm.cause}`);
      void this.releaseAll().then(() => {
        if (this.current.name !== 'ended') {
          this.go({ name: 'ended', reason: pm.message, error: { kind: `server-ended-${pm.cause}`, message: pm.message, hint: 'Start again with the same class when you are ready.', details: { cause: pm.cause } } });
        }
      });
    });
    this.monitor = monitor;
    monitor.start();
  }

  /** Whether the Lab window is on screen: the monitor polls every 5 s then, every 30 s when not. */
  setVisible(visible: boolean): void {
    this.monitor?.setVisible(visible);
  }

  /** A fresh one-time entry URL (each works once); with a place, it lands there. */
  entryUrl(place?: string): string {
    const { gateway, serverPath, lab } = this.opened();
    return gateway.entryUrl(place === undefined ? undefined : landingPath(serverPath, lab, place));
  }

  /** What to run in the open Lab page to show a place there without reloading it (place.ts). */
  placeScript(place: string): string {
    const { serverPath, lab } = this.opened();
    return openPlaceScript(serverPath, lab, place);
  }

  /** The gateway and the page it serves, once the session has been ready; a usage error before. */
  private opened(): { gateway: LocalGateway; serverPath: string; lab: boolean } {
    if (!this.gateway || !this.landing || this.serverPath === undefined) {
      throw new RoamlabError('usage', 'The session is not ready yet.', 'Wait until it is ready.');
    }
    return { gateway: this.gateway, serverPath: this.serverPath, lab: this.landing.lab };
  }

  // -------------------------------------------------------------------------------------------
  // Supervision: notice a lost link, reconnect what is broken, come back at the same place.

  /** Something outside says the network changed or the computer woke up. */
  signal(kind: OutsideSignal): void {
    if (!this.supervising) return;
    this.o.log.info(`session: signal ${kind}`);
    const state = this.current.name;
    if (kind === 'network-down') {
      if (state === 'ready') void this.probeNow(2000, 'network-down');
      return;
    }
    // network-up or resume: a session that waits tries now; a ready one checks its link now
    // (after sleep the SSH connection may be dead while its keepalive timer has not fired yet).
    if (state === 'reconnecting' || state === 'degraded') this.reconnectNow({ overtake: true });
    else if (state === 'ready') void this.probeNow(2000, kind === 'resume' ? 'sleep' : 'hub-unreachable');
  }

  /**
   * "Reconnect now": skip the wait before the next attempt. With `overtake` (the network came
   * back, the computer woke up), an attempt still connecting — its SYN sent into the old network
   * — is aborted and a fresh one starts, rather than waiting out its connect timeout.
   */
  reconnectNow(o: { overtake?: boolean } = {}): void {
    if (!this.supervising) return;
    if (this.current.name === 'ready') {
      void this.probeNow(2000, 'hub-unreachable');
      return;
    }
    if (this.reconnectInFlight) {
      if (o.overtake && this.attemptAbort && !this.attemptAbort.signal.aborted) {
        this.againAfterAbort = true;
        this.attemptAbort.abort();
      }
      return;
    }
    this.clearWaits();
    this.reconnectInFlight = this.reconnectAttempt().finally(() => {
      this.reconnectInFlight = undefined;
      if (this.againAfterAbort) {
        this.againAfterAbort = false;
        this.reconnectNow();
      }
    });
  }

  private clearWaits(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.reachTimer) clearInterval(this.reachTimer);
    this.retryTimer = this.reachTimer = undefined;
  }

  /**
   * Where the link starts: the first SSH jump host, else the SSH gateway, as the last connection
   * went (its jump hosts may come from the person's ssh configuration), else the hub itself. A
   * TCP connect there is the cheap "is the network back?" check that runs while a long backoff
   * is waited out (the CLI has no network events; the app's may come late or never).
   */
  private reachTarget(): { host: string; port: number } {
    const start = this.transport?.linkStart;
    if (start === null) return { host: '', port: 0 };
    const hop = start ?? firstHop(this.o.profile);
    if (hop) return hop;
    return this.transport ? hubTarget(this.transport.hubUrl) : { host: '', port: 0 };
  }

  /** The stored token if the hub takes it, else one minted once from the stored password. */
  private acceptedToken(hub: HubClient): Promise<string> {
    return ensureToken({ profile: this.o.profile, hub, keychain: this.o.keychain, username: this.o.username, log: this.o.log });
  }

  private renewing: Promise<boolean> | undefined;
  private lastRenewAt = 0;

  /**
   * Check the token and, if the hub no longer takes it, mint a new one from the stored password
   * (ensureToken). At most one at a time and one check per 30 s, however many requests failed.
   * Resolves true when the token changed.
   */
  private renewToken(why: string): Promise<boolean> {
    if (this.renewing) return this.renewing;
    if (!this.hub || Date.now() - this.lastRenewAt < 30_000) return Promise.resolve(false);
    this.lastRenewAt = Date.now();
    const hub = this.hub;
    const before = this.token;
    this.renewing = (async () => {
      try {
        this.token = await this.acceptedToken(hub);
        if (this.token !== before) this.o.log.info(`session: ${why}; a new token is in use`);
        return this.token !== before;
      } catch (e) {
        this.o.log.info(`session: ${why}; could not renew the token: ${(e as Error).message}`);
        return false;
      }
    })().finally(() => (this.renewing = undefined));
    return this.renewing;
  }

  /** How the page's WebSockets fare (open, held across a drop, resumed). */
  get webSockets(): { open: number; held: number; resumed: number } {
    return this.gateway?.webSockets ?? { open: 0, held: 0, resumed: 0 };
  }

  private get supervise(): SuperviseOptions {
    return this.o.supervise || {};
  }

  private startSupervision(): void {
    if (this.o.supervise === false || !this.transport) return;
    this.supervising = true;
    this.transport.onLost((reason) => this.linkLost('ssh-lost', reason));
    this.scheduleProbe();
    const gap = this.supervise.sleepGapMs ?? 4000;
    if (gap > 0) {
      const tick = 1000;
      let last = Date.now();
      this.sleepTimer = setInterval(() => {
        const now = Date.now();
        const late = now - last - tick;
        last = now;
        if (late >= gap) {
          this.o.log.info(`session: timers were ${Math.round(late / 1000)} s late; the computer slept`);
          this.emit('wake', { sleptMs: late });
          this.signal('resume');
        }
      }, tick);
      this.sleepTimer.unref();
    }
  }

  private stopSupervision(): void {
    this.supervising = false;
    if (this.probeTimer) clearTimeout(this.probeTimer);
    if (this.sleepTimer) clearInterval(this.sleepTimer);
    this.probeTimer = this.sleepTimer = undefined;
    this.clearWaits();
    this.attemptAbort?.abort();
  }

  private scheduleProbe(): void {
    if (this.probeTimer) clearTimeout(this.probeTimer);
    this.probeTimer = undefined;
    if (!this.supervising || this.current.name !== 'ready') return;
    this.probeTimer = setTimeout(() => {
      this.probeTimer = undefined;
      void this.probeNow(this.supervise.probeTimeoutMs ?? 4000, 'hub-unreachable', this.supervise.probeFailures ?? 2).then(() => this.scheduleProbe());
    }, this.supervise.probeIntervalMs ?? 5000);
    this.probeTimer.unref();
  }

  /**
   * One probe of the hub through the link. `failuresNeeded` failures in a row lose the link: the
   * periodic probe tolerates one slow answer; a probe prompted by a signal or the person does not.
   */
  private probeNow(timeoutMs: number, cause: LossCause, failuresNeeded = 1): Promise<boolean> {
    if (this.probing) return this.probing;
    const transport = this.transport;
    if (!transport) return Promise.resolve(false);
    this.probing = (async () => {
      let ok: boolean;
      let detail = '';
      try {
        // On a slow link a probe may need a new channel and the request: two round trips more.
        const ms = timeoutMs + 2 * (transport.rttMs ?? 0);
        const res = await hubRequest(transport, { method: 'GET', path: 'hub/api', timeoutMs: ms, action: 'answer a probe' });
        ok = res.status < 500;
        if (!ok) detail = `HTTP ${res.status}`;
      } catch (e) {
        ok = false;
        detail = isRoamlabError(e) ? shortError(e) : (e as Error).message;
      }
      if (!this.supervising || this.current.name !== 'ready') return ok;
      if (ok) {
        this.probeFailuresInRow = 0;
        return true;
      }
      this.probeFailuresInRow++;
      if (this.probeFailuresInRow >= failuresNeeded) this.linkLost(transport.isLost ? 'ssh-lost' : cause, detail);
      return false;
    })().finally(() => (this.probing = undefined));
    return this.probing;
  }

  /** The link is gone: the page waits (its WebSockets held), and reconnecting starts at once. */
  private linkLost(cause: LossCause, detail?: string): void {
    if (!this.supervising || this.current.name !== 'ready') return;
    if (this.probeTimer) clearTimeout(this.probeTimer);
    this.probeTimer = undefined;
    this.probeFailuresInRow = 0;
    this.downSince = Date.now();
    this.downReason = lossReason(cause, detail);
    this.attempt = 0;
    // The hub alone not answering, over a link that is up, does not stop the Lab page: the
    // servers answer through the proxy without the hub. Only a lost link holds requests.
    if (cause !== 'hub-unreachable' || this.transport?.isLost || !this.transport?.onLost) this.gateway?.setLinkDown();
    this.gateway?.setReconnecting(true);
    this.monitor?.setReconnecting(true);
    this.go({ name: 'degraded', reason: reconnectingReason({ lossReason: this.downReason, downForMs: 0, trying: true }), cause, since: this.downSince });
    this.reconnectNow();
  }

  /** One reconnect attempt; schedules the next one on a passing failure. */
  private async reconnectAttempt(): Promise<void> {
    if (!this.supervising || !this.transport || !this.hub) return;
    const live = this.transport;
    const hub = this.hub;
    this.attempt++;
    this.go({ name: 'reconnecting', reason: reconnectingReason({ lossReason: this.downReason, downForMs: Date.now() - this.downSince, trying: true }), attempt: this.attempt, since: this.downSince });
    const abort = new AbortController();
    this.attemptAbort = abort;
    try {
      // 1. The connection: rebuilt only when it is broken (an SSH connection that ended) or has
      //    nothing to keep (direct: a fresh agent drops sockets from the old network).
      if (live.isLost || !live.onLost) {
        this.gateway?.setLinkDown();
        const fresh = await this.o.openTransport(abort.signal);
        if (!this.supervising) {
          await fresh.close();
          return;
        }
        // The session's one onLost listener (startSupervision) follows the swap.
        await live.swap(fresh);
      }
      // 2. The token: the stored one, or one minted from the stored password if the hub refuses it.
      this.token = await this.acceptedToken(hub);
      // 3. The server: still ours and running?
      const model = await hub.server(this.token, this.o.username, this.serverName);
      if (!this.supervising) return;
      const same = !!model?.ready && (!this.server?.started || !model.started || model.started === this.server.started);
      if (!same) {
        this.o.log.info('session: the server is gone; ending');
        this.serverGone();
        return;
      }
      this.server = model;
      const downFor = Date.now() - this.downSince;
      this.reconnects++;
      this.gateway?.setLinkUp();
      this.gateway?.setReconnecting(false);
      this.monitor?.setReconnecting(false);
      const l = this.landing!;
      this.go({ name: 'ready', reason: backReason(downFor), url: l.url, port: l.port, downForMs: downFor });
      this.scheduleProbe();
    } catch (e) {
      if (!this.supervising) return;
      // Overtaken by a network-up or resume: the next attempt starts at once (reconnectNow).
      if (abort.signal.aborted) return;
      const err = isRoamlabError(e) ? e : new RoamlabError('hub-unreachable', (e as Error).message, 'Roamlab keeps trying.', {}, { cause: e });
      // A person who declined the gateway's prompt (a one-time code) wants no more of them.
      if (FATAL_ON_RECONNECT.has(err.kind) || (err.kind === 'cancelled' && err.details.declined === true)) {
        this.o.log.info(`session: reconnect cannot succeed (${err.kind}); ending`);
        await this.releaseAll();
        if (this.current.name !== 'ended') this.go({ name: 'ended', reason: err.message, error: { kind: err.kind, message: err.message, hint: err.hint, details: { ...err.details } } });
        return;
      }
      const delay = backoffDelayMs(this.attempt + 1, Math.random, this.supervise.backoff);
      const lastError = shortError(err);
      this.o.log.info(`session: reconnect attempt ${this.attempt} failed (${lastError}); next in ${delay} ms`);
      this.go({
        name: 'reconnecting',
        reason: reconnectingReason({ lossReason: this.downReason, downForMs: Date.now() - this.downSince, nextTryInMs: delay, trying: false, lastError }),
        attempt: this.attempt,
        nextTryInMs: delay,
        since: this.downSince,
        lastError,
      });
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.reconnectNow();
      }, delay);
      this.retryTimer.unref();
      if (delay > REACH_EVERY_MS && NO_NETWORK.has(lastError)) this.watchReach();
    } finally {
      if (this.attemptAbort === abort) this.attemptAbort = undefined;
    }
  }

  /**
   * While a long wait runs after "no network" errors (no route, timeouts): every 2 s, one TCP
   * connect to where the link starts; when it answers, the network is back and the attempt
   * starts now. Only for those errors: when the gateway answers but the attempt fails for another
   * reason, the backoff alone paces the attempts.
   */
  private watchReach(): void {
    const { host, port } = this.reachTarget();
    if (!host) return;
    let checking = false;
    this.reachTimer = setInterval(() => {
      if (checking) return;
      checking = true;
      const reached = connectTcp(host, port, REACH_TIMEOUT_MS).then((sock) => (sock.destroy(), true), () => false);
      void reached.then((ok) => {
        checking = false;
        if (ok && this.reachTimer && this.supervising && this.current.name === 'reconnecting') {
          this.o.log.info(`session: ${host}:${port} answers again; reconnecting now`);
          this.reconnectNow();
        }
      });
    }, REACH_EVERY_MS);
    this.reachTimer.unref();
  }

  /** The server ended while we were away: say why as far as is known, and offer to start again. */
  private serverGone(): void {
    if (this.monitor) {
      // The monitor knows the last sample and the start time: its post-mortem names the cause,
      // and its 'ended' handler ends the session.
      this.monitor.serverGone();
      return;
    }
    void this.releaseAll().then(() => {
      if (this.current.name !== 'ended') {
        const message = 'Your server is no longer running at the hub (stopped, culled or out of runtime).';
        this.go({ name: 'ended', reason: message, error: { kind: 'server-ended-stopped', message, hint: 'Start again with the same class when you are ready.', details: { cause: 'stopped' } } });
      }
    });
  }

  /** Stop the server at the hub, then end the session. */
  async stopServer(): Promise<void> {
    if (this.hub && this.token) await this.hub.stop(this.token, this.o.username, this.serverName);
    await this.close('server stopped');
  }

  /** End the session here: tunnel and gateway down, the server keeps running at the hub. */
  async close(reason = 'closed; the server keeps running at the hub'): Promise<void> {
    await this.releaseAll();
    if (this.current.name !== 'ended') this.go({ name: 'ended', reason });
  }

  private async releaseAll(): Promise<void> {
    this.stopSupervision();
    this.monitor?.dispose();
    this.monitor = undefined;
    const g = this.gateway;
    const t = this.transport;
    this.gateway = undefined;
    this.transport = undefined;
    await g?.close().catch(() => undefined);
    await t?.close().catch(() => undefined);
  }
}

const REACH_EVERY_MS = 2000;
const REACH_TIMEOUT_MS = 1500;
/** Attempt errors that mean "no network here" (then a cheap reachability check runs meanwhile). */
const NO_NETWORK = new Set(['EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND', 'hub-timeout', 'hub-unreachable', 'ssh-unreachable']);

/** Failures a retry cannot mend: the person must act (sign in, check a key, confirm a host key). */
const FATAL_ON_RECONNECT = new Set<string>([
  'host-key-changed',
  'host-key-unknown',
  'ssh-auth-failed',
  'ssh-key-unreadable',
  'credentials-missing',
  'auth-failed',
  'keychain-unavailable',
]);

function shortError(e: RoamlabError): string {
  const code = e.details.code;
  if (typeof code === 'string' && code) return code;
  if (typeof e.details.status === 'number') return `HTTP ${e.details.status}`;
  return e.kind;
}

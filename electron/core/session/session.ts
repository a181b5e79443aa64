import { EventEmitter } from 'node:events';
import { RoamlabError, isRoamlabError } from '../errors';
import type { Keychain } from '../keychain/keychain';
import type { Logger } from '../log';
import type { FacilityProfile, NotebookClass } from '../profile/schema';
import { HubClient, type ServerModel, type SpawnProgress } from '../hub/hub-client';
import type { HubTransport } from '../transport/transport';
import { LocalGateway } from '../gateway/gateway';
import { ensureToken } from './credentials';
import { canTransition, TransitionError, type SessionState } from './session-machine';
import { LimitsMonitor, type MonitorNotice } from '../monitor/limits-monitor';
import type { LimitEvent, ThresholdOverrides } from '../monitor/limits-policy';
import type { MetricsSample } from '../monitor/metrics';
import { runtimeLeftMs } from '../monitor/clock-skew';

export interface SessionOptions {
  profile: FacilityProfile;
  keychain: Keychain;
  username: string;
  notebookClass: NotebookClass;
  /** '' is the user's default server; anything else a named server. */
  serverName?: string;
  openTransport: () => Promise<HubTransport>;
  log: Logger;
  /** Fixed gateway port (0 or absent: any free port). */
  port?: number;
  /** Limits monitoring while ready (default on); thresholds are the person's per facility. */
  monitor?: false | { thresholds?: ThresholdOverrides; visible?: boolean };
}

export interface SessionEvents {
  state: [SessionState];
  /** Node stats while ready: memory, CPU, runtime left (the limits monitor's samples). */
  metrics: [MetricsSample & { runtimeLeftMs?: number }];
  /** A memory or runtime threshold crossed: words to show, once per crossing. */
  limit: [LimitEvent];
  /** Something the person should know once, e.g. that memory cannot be watched on this hub. */
  notice: [MonitorNotice];
}

/**
 * One session: from stored credentials to a Lab page on 127.0.0.1. Owns its transport, its
 * gateway and every listener it makes; close() releases them all and leaves the server running.
 */
export class Session extends EventEmitter<SessionEvents> {
  private current: SessionState = { name: 'signed-out', reason: 'not started' };
  private transport: HubTransport | undefined;
  private gateway: LocalGateway | undefined;
  private hub: HubClient | undefined;
  private token = '';
  private server: ServerModel | null = null;
  private monitor: LimitsMonitor | undefined;
  readonly serverName: string;

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
      this.transport = await this.o.openTransport();
      this.hub = new HubClient({ transport: this.transport });
      this.token = await ensureToken({ profile, hub: this.hub, keychain: this.o.keychain, username, log: this.o.log });

      const existing = await this.hub.server(this.token, username, this.serverName);
      if (existing?.ready) {
        this.server = existing;
        this.go({ name: 'connecting', reason: 'your server is already running; connecting to it' });
      } else {
        this.go({ name: 'spawning', reason: existing?.pending ? `the hub is still busy (${existing.pending}); waiting` : `starting a ${notebookClass.label} server`, progress: 0 });
        const onProgress = (p: SpawnProgress) => this.go({ name: 'spawning', reason: p.message, progress: p.progress, message: p.message });
        // A spawn already under way (another window, an earlier run) is followed, not requested twice.
        this.server =
          existing?.pending === 'spawn'
            ? await this.hub.waitForSpawn(this.token, username, this.serverName, { signal, onProgress })
            : await this.hub.spawn(this.token, username, this.serverName, notebookClass.userOptions, { signal, onProgress });
        this.go({ name: 'connecting', reason: 'server ready; opening the local gateway' });
      }

      const serverPath = this.server.url.endsWith('/') ? this.server.url : `${this.server.url}/`;
      const lab = await this.hub.labAvailable(this.token, serverPath);
      this.gateway = new LocalGateway({
        transport: this.transport,
        token: () => this.token,
        landingPath: serverPath + (lab ? 'lab' : 'tree'),
        port: this.o.port,
        log: (l) => this.o.log.info(l),
      });
      const port = await this.gateway.listen();
      const url = this.gateway.entryUrl();
      this.go({ name: 'ready', reason: lab ? 'JupyterLab is ready' : 'the notebook server is ready (this hub has no JupyterLab; using the classic interface)', url, port });
      this.startMonitor(serverPath);
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

  private startMonitor(serverPath: string): void {
    if (this.o.monitor === false || !this.transport || !this.hub) return;
    const hub = this.hub;
    const { notebookClass, username } = this.o;
    const monitor = new LimitsMonitor({
      transport: this.transport,
      token: () => this.token,
      serverUrlPath: serverPath,
      started: this.server?.started ?? null,
      notebookClass: { label: notebookClass.label, memoryGB: notebookClass.memoryGB, runtimeHours: notebookClass.runtimeHours },
      thresholds: this.o.monitor?.thresholds,
      visible: this.o.monitor?.visible ?? true,
      fetchServerModel: () => hub.server(this.token, username, this.serverName),
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

  /** A fresh one-time entry URL (each works once). */
  entryUrl(): string {
    if (!this.gateway) throw new RoamlabError('usage', 'The session is not ready yet.', 'Wait until it is ready.');
    return this.gateway.entryUrl();
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

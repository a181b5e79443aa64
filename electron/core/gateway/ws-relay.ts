import type { IncomingMessage } from 'node:http';
import type { Agent } from 'node:http';
import { randomUUID } from 'node:crypto';
import { WebSocket, type RawData } from 'ws';
import { kernelInfoRequest, replyTo } from './kernel-probe';

/**
 * One WebSocket of the Lab page (a kernel's channels, a terminal, the event stream), relayed
 * message by message to the hub, so that the page's side can outlive the upstream one.
 *
 * When the link to the hub drops, the upstream socket dies but the page's stays open: the page
 * sees a quiet kernel, not a closed socket, so JupyterLab never starts (and never gives up) its
 * own reconnect. Messages the page sends meanwhile are queued. When the link is back, the relay
 * dials the same URL again — for a kernel that is the same `session_id`, and jupyter_server
 * replays what the kernel sent while nobody listened — then sends the queue; for a kernel, once
 * the kernel has answered on the resumed socket (kernel-probe.ts). When the upstream
 * is gone for good (the kernel or server no longer exists, the hub refuses), the page's socket is
 * closed with 1011 so JupyterLab reconnects by itself, while the link is up, and finds out.
 */

export interface UpstreamSpec {
  url: string;
  protocols: string[];
  headers: Record<string, string>;
}

export interface RelayEnv {
  /** The agent of the current connection to the hub (read at every dial). */
  agent: () => Agent;
  /** Fresh upstream headers (the token may have been re-minted). */
  spec: () => UpstreamSpec;
  /** Whether the gateway believes the link is up. */
  linkUp: () => boolean;
  /**
   * Whether the session is reconnecting (it found the link or the hub gone and keeps trying).
   * Meanwhile a dial that fails the way a restarting hub fails is not counted against the page:
   * it stays held for as long as the session tries, and is dialled again when the session is back.
   */
  reconnecting: () => boolean;
  /** Pauses between dials while the link is up but the hub does not take the socket (ms). */
  retryMs?: readonly number[];
  /** Set when the socket is a kernel's channels: resumed sockets are checked (kernel-probe.ts). */
  kernel?: KernelCheck;
  log?: (line: string) => void;
}

export interface KernelCheck {
  /** Check the first upstream too: the page reopened a kernel session this gateway relayed before. */
  checkFirst: boolean;
  /** How long a resumed socket has to answer kernel_info (ms). */
  answerWithinMs: number;
  /** The kernel's execution_state as the server reports it (REST), undefined if unknown. */
  executionState(): Promise<string | undefined>;
  /** From now on connect this page's socket with a new session_id (spec() carries it). */
  renewSession(): void;
}

/** Most a page may send while the link is down before its socket is closed (bytes). */
const MAX_QUEUED_BYTES = 8 * 1024 * 1024;
/** Upstream buffer at which the page's socket is paused (and the reverse). */
const HIGH_WATER = 4 * 1024 * 1024;
/** Retry delays while the link looks up but the dial fails (e.g. the hub's proxy restarting). */
const RETRY_MS: readonly number[] = [250, 500, 1000, 2000, 4000, 8000];
const HANDSHAKE_TIMEOUT_MS = 15_000;
/** After the proof, how long the kernel's answers to it (status on iopub, the other channel's reply) are kept from the page. */
const PROBE_ECHO_MS = 5_000;
const MAX_PAYLOAD = 512 * 1024 * 1024;

export function dialUpstream(env: RelayEnv): WebSocket {
  const spec = env.spec();
  return new WebSocket(spec.url, spec.protocols, {
    agent: env.agent(),
    headers: spec.headers,
    perMessageDeflate: false,
    handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
    maxPayload: MAX_PAYLOAD,
    followRedirects: false,
  });
}

export type DialResult = { ok: true; ws: WebSocket } | { ok: false; status?: number; message: string };

/** Dial and wait for the handshake: an HTTP answer other than 101 is reported with its status. */
export function dialAndOpen(env: RelayEnv): Promise<DialResult> {
  return new Promise((resolve) => {
    let ws: WebSocket;
    try {
      ws = dialUpstream(env);
    } catch (e) {
      resolve({ ok: false, message: (e as Error).message });
      return;
    }
    const done = (r: DialResult) => {
      ws.removeAllListeners('open');
      ws.removeAllListeners('unexpected-response');
      ws.removeAllListeners('error');
      if (!r.ok) {
        ws.on('error', () => undefined);
        ws.terminate();
      }
      resolve(r);
    };
    ws.once('open', () => done({ ok: true, ws }));
    ws.once('unexpected-response', (_req, res: IncomingMessage) => {
      res.resume();
      done({ ok: false, status: res.statusCode, message: `HTTP ${res.statusCode}` });
    });
    ws.once('error', (err) => done({ ok: false, message: err.message }));
  });
}

/** A failed dial that a restarting hub or proxy would give (as opposed to the hub refusing). */
export function isTransient(r: { status?: number; message: string }): boolean {
  const s = r.status;
  const restarting = s === undefined || (s >= 300 && s < 400) || s === 424 || s === 429 || s >= 500;
  return restarting && !/subprotocol/i.test(r.message);
}

export class WsRelay {
  private upstream: WebSocket | undefined;
  private queue: { data: RawData; binary: boolean }[] = [];
  private queuedBytes = 0;
  private closed = false;
  private dialing = false;
  /** Failed dials that count towards giving up (see redial). */
  private failedDials = 0;
  /** Failed dials since the upstream was lost, counted or not: they pace the next dial. */
  private dialsInRow = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly delays: readonly number[];
  /** A resumed kernel socket proving that it reaches the kernel; what the page sends waits. */
  private proving: { ws: WebSocket; timer: NodeJS.Timeout } | undefined;
  /** The proof's msg_ids: the kernel's answers to them are kept from the page until probeEchoUntil. */
  private probeIds: ReadonlySet<string> | undefined;
  private probeEchoUntil = 0;
  /** This resume already moved to a new session_id once (reset when a proof succeeds). */
  private renewed = false;
  /** Times the upstream was replaced after a drop (for tests and logs). */
  resumed = 0;

  constructor(
    private readonly page: WebSocket,
    /** The hub side, already open; undefined for a socket the page opened while the link was down. */
    first: WebSocket | undefined,
    private readonly env: RelayEnv,
    private readonly onDone: (r: WsRelay) => void,
  ) {
    this.delays = env.retryMs ?? RETRY_MS;
    page.on('message', (data, isBinary) => this.fromPage(data, isBinary));
    page.on('close', () => this.finish());
    page.on('error', () => this.finish());
    if (first) this.attach(first, env.kernel?.checkFirst ?? false);
    else if (env.linkUp()) this.scheduleRetry(0);
  }

  /** Whether the page is waiting for the upstream to come back. */
  get suspended(): boolean {
    return !this.closed && !this.upstream;
  }

  /** The gateway's link (or the session) is back: dial now rather than at the next retry. */
  linkUp(): void {
    if (!this.suspended || this.dialing) return;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.resetDials();
    void this.redial();
  }

  /** The link went down: stop retrying until linkUp(). */
  linkDown(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  /** End both sides (session over). */
  close(code = 1001, reason = 'Roamlab session closed'): void {
    if (this.closed) return;
    this.page.close(code, reason);
    setTimeout(() => this.page.terminate(), 1000).unref();
    this.finish();
  }

  private attach(ws: WebSocket, check = false): void {
    this.upstream = ws;
    ws.on('message', (data, isBinary) => {
      if (this.probeIds && this.answersProbe(ws, data, isBinary)) return;
      if (this.page.readyState !== WebSocket.OPEN) return;
      this.page.send(data, { binary: isBinary });
      if (this.page.bufferedAmount > HIGH_WATER && !ws.isPaused) {
        ws.pause();
        this.whenDrained(this.page, () => ws.resume());
      }
    });
    ws.on('error', () => undefined);
    ws.once('close', (code, reason) => this.upstreamClosed(ws, code, reason.toString()));
    if (check && this.env.kernel) this.prove(ws, this.env.kernel);
    else this.flush();
  }

  /** Ask the kernel for kernel_info on control and shell; the page's messages wait for an answer. */
  private prove(ws: WebSocket, kernel: KernelCheck): void {
    const session = `roamlab-check-${randomUUID()}`;
    const channels = ['control', 'shell'] as const;
    this.probeIds = new Set(channels.map((c) => `${session}-${c}`));
    const timer = setTimeout(() => void this.unproved(ws, kernel), kernel.answerWithinMs);
    timer.unref();
    this.proving = { ws, timer };
    for (const c of channels) {
      const f = kernelInfoRequest(ws.protocol, c, `${session}-${c}`, session);
      ws.send(f.data, { binary: f.binary });
    }
  }

  /** A message answering the proof (its reply, its busy/idle status) is the relay's, not the page's. */
  private answersProbe(ws: WebSocket, data: RawData, binary: boolean): boolean {
    if (!this.proving && Date.now() > this.probeEchoUntil) {
      this.probeIds = undefined;
      return false;
    }
    const r = replyTo(ws.protocol, data, binary);
    if (!r || !this.probeIds?.has(r.parentId)) return false;
    if (this.proving?.ws === ws && (r.channel === 'control' || r.channel === 'shell')) {
      this.renewed = false;
      this.endProof();
    }
    return true;
  }

  /** Stop waiting for the kernel's answer (its timer too). */
  private dropProof(): void {
    if (this.proving) clearTimeout(this.proving.timer);
    this.proving = undefined;
  }

  private endProof(): void {
    this.dropProof();
    this.probeEchoUntil = Date.now() + PROBE_ECHO_MS;
    this.flush();
  }

  /**
   * No answer in time. A kernel running a cell that answers kernel_info only on shell (kernels
   * older than JEP 80) cannot be told from a dead socket: if the server says the kernel is busy,
   * carry on. Otherwise the server restored channels that no longer reach the kernel: connect
   * again under a new session_id, which gets new ones. Replies to requests sent before the drop
   * went to the old channels, so this is the last resort, and taken once per resume.
   */
  private async unproved(ws: WebSocket, kernel: KernelCheck): Promise<void> {
    if (this.proving?.ws !== ws || this.closed) return;
    const state = await kernel.executionState().catch(() => undefined);
    if (this.proving?.ws !== ws || this.closed) return;
    if (state === 'busy' || this.renewed) {
      this.env.log?.(`gateway: a resumed kernel socket did not answer kernel_info in ${kernel.answerWithinMs} ms (kernel ${state ?? 'state unknown'}); carrying on`);
      this.renewed = false;
      this.endProof();
      return;
    }
    this.env.log?.('gateway: a resumed kernel socket does not reach the kernel (the server restored channels of a stale connection); connecting it again as a new session');
    this.renewed = true;
    this.dropProof();
    this.upstream = undefined;
    ws.removeAllListeners('close');
    ws.removeAllListeners('message');
    ws.terminate();
    kernel.renewSession();
    this.resetDials();
    void this.redial();
  }

  private fromPage(data: RawData, binary: boolean): void {
    const up = this.upstream;
    if (up && up.readyState === WebSocket.OPEN && !this.proving) {
      up.send(data, { binary });
      if (up.bufferedAmount > HIGH_WATER && !this.page.isPaused) {
        this.page.pause();
        this.whenDrained(up, () => this.page.resume());
      }
      return;
    }
    const size = byteLength(data);
    if (this.queuedBytes + size > MAX_QUEUED_BYTES) {
      this.env.log?.('gateway: websocket queue full while reconnecting; closing the page socket');
      this.page.close(1011, 'Roamlab: too much to send while reconnecting');
      this.finish();
      return;
    }
    this.queue.push({ data, binary });
    this.queuedBytes += size;
  }

  private flush(): void {
    const up = this.upstream;
    if (!up || up.readyState !== WebSocket.OPEN || this.proving) return;
    for (const m of this.queue) up.send(m.data, { binary: m.binary });
    this.queue = [];
    this.queuedBytes = 0;
  }

  private upstreamClosed(ws: WebSocket, code: number, reason: string): void {
    if (ws !== this.upstream || this.closed) return;
    this.upstream = undefined;
    this.dropProof();
    // 1006: no close frame, i.e. the connection under it died. Anything else the server said on
    // purpose (kernel shut down, server stopping): pass it on.
    if (code !== 1006) {
      if (this.page.readyState === WebSocket.OPEN) this.page.close(code === 1005 ? 1000 : safeCode(code), reason);
      this.finish();
      return;
    }
    this.env.log?.('gateway: a websocket lost its upstream; holding the page side until the link is back');
    this.resetDials();
    if (this.env.linkUp()) this.scheduleRetry(0);
  }

  private resetDials(): void {
    this.failedDials = 0;
    this.dialsInRow = 0;
  }

  private scheduleRetry(index: number): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const delay = this.delays[Math.min(index, this.delays.length - 1)]!;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.env.linkUp()) void this.redial();
    }, delay);
    this.retryTimer.unref();
  }

  private async redial(): Promise<void> {
    if (this.closed || this.dialing || this.upstream) return;
    this.dialing = true;
    const r = await dialAndOpen(this.env);
    this.dialing = false;
    if (this.closed) {
      if (r.ok) r.ws.terminate();
      return;
    }
    if (r.ok && (r.ws.protocol || '') !== (this.page.protocol || '')) {
      // A socket accepted while the link was down took the page's first subprotocol; the hub chose
      // otherwise. Let the page open it again now that the link is up.
      r.ws.terminate();
      this.env.log?.('gateway: the hub chose another subprotocol; the page will reconnect itself');
      if (this.page.readyState === WebSocket.OPEN) this.page.close(1011, 'Roamlab: reconnect');
      this.finish();
      return;
    }
    if (r.ok) {
      this.resumed++;
      this.resetDials();
      this.env.log?.('gateway: websocket resumed');
      this.attach(r.ws, true);
      return;
    }
    // The hub answered and refused (404: the kernel is gone; 401/403): the page must hear it from
    // the hub itself, so close its socket and let JupyterLab reconnect — now, while the link is up.
    // What a hub says while it restarts is not a refusal: nothing listening, the proxy's 502/503,
    // and the hub's own redirects (3xx), 424 and 500 "redirect loop" while it puts its routes back
    // for the servers that kept running. Those are dialled again, a few times over ~24 s, before
    // the page is told; and without counting while the session is reconnecting, because the hub
    // stopped answering it too (a facility's hub restart can take minutes). Told too early,
    // JupyterLab retries on its own for about two minutes, then shows the kernel as dead.
    const refused = !isTransient(r);
    this.dialsInRow++;
    if (refused || !this.env.reconnecting()) this.failedDials++;
    if (refused || this.failedDials > this.delays.length) {
      this.env.log?.(`gateway: websocket could not be resumed (${r.message}); the page will reconnect itself`);
      if (this.page.readyState === WebSocket.OPEN) this.page.close(1011, 'Roamlab: upstream gone');
      this.finish();
      return;
    }
    if (this.env.linkUp()) this.scheduleRetry(this.dialsInRow);
  }

  private whenDrained(ws: WebSocket, then: () => void): void {
    const check = () => {
      if (this.closed) return;
      if (ws.bufferedAmount <= HIGH_WATER / 4) then();
      else setTimeout(check, 10).unref();
    };
    setTimeout(check, 10).unref();
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.dropProof();
    const up = this.upstream;
    this.upstream = undefined;
    if (up) {
      up.removeAllListeners('close');
      if (up.readyState === WebSocket.OPEN) up.close(1000);
      setTimeout(() => up.terminate(), 1000).unref();
    }
    this.queue = [];
    this.queuedBytes = 0;
    this.onDone(this);
  }
}

function byteLength(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((n, b) => n + b.length, 0);
  return (data as Buffer | ArrayBuffer).byteLength;
}

/** Close codes a peer may send (1005/1006/1015 are reserved for "no code"). */
function safeCode(code: number): number {
  return code === 1006 || code === 1015 || code < 1000 || code >= 5000 ? 1011 : code;
}

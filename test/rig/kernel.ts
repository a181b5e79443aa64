/**
 * Run code in a kernel of a single-user server through the hub's proxy, the way a browser does:
 * REST to start a kernel (POST {server}api/kernels), then the kernel's WebSocket
 * ({server}api/kernels/ID/channels, Jupyter messaging protocol 5.3 as JSON text frames) for an
 * execute_request. The token goes in the Authorization header of both, so it works with the hub's
 * admin service token (access:servers) or a user's token. Works against jupyter_server 2
 * (JupyterHub 5.2 rig) and the classic notebook 6.4 (JupyterHub 3.0 rig).
 */
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';

export interface RunInKernelOptions {
  /** Reuse this kernel instead of starting a new one (e.g. to keep adding to its memory). */
  kernelId?: string;
  /** Kernel spec name for a new kernel (default: the server's default, python3). */
  kernelName?: string;
  /** Give up after this long (default 60 s): the socket closes and the promise rejects. */
  timeoutMs?: number;
  /** Shut the kernel down (DELETE api/kernels/ID) after the code ran (default false). */
  shutdown?: boolean;
}

export interface KernelRun {
  kernelId: string;
  /** execute_reply status */
  status: 'ok' | 'error' | 'aborted';
  /** concatenated 'stream' output */
  stdout: string;
  stderr: string;
  /** text/plain of execute_result / display_data, in order */
  results: string[];
  /** set when status is 'error' */
  error?: { ename: string; evalue: string; traceback: string[] };
  /** execute_count from the reply */
  executionCount?: number;
}

interface JupyterMessage {
  header: { msg_id: string; msg_type: string };
  parent_header: { msg_id?: string };
  channel?: string;
  content: Record<string, unknown>;
}

/** {hubUrl}user/NAME[/SERVER]/ — hubUrl is the hub's base URL with trailing slash (RigHub.url). */
export function serverUrl(hubUrl: string, user: string, serverName = ''): string {
  const base = hubUrl.endsWith('/') ? hubUrl : `${hubUrl}/`;
  const server = serverName ? `${encodeURIComponent(serverName)}/` : '';
  return `${base}user/${encodeURIComponent(user)}/${server}`;
}

function authHeaders(token: string): Record<string, string> {
  return { Authorization: `token ${token}` };
}

/** POST {server}api/kernels → the new kernel's id. */
export async function startKernel(
  hubUrl: string,
  user: string,
  token: string,
  serverName = '',
  kernelName?: string,
): Promise<string> {
  const url = `${serverUrl(hubUrl, user, serverName)}api/kernels`;
  const res = await fetch(url, {
    method: 'POST',
    headers: { ...authHeaders(token), 'Content-Type': 'application/json' },
    body: JSON.stringify(kernelName ? { name: kernelName } : {}),
  });
  const text = await res.text();
  if (res.status !== 201 && res.status !== 200) {
    throw new Error(`POST ${url} → HTTP ${res.status}: ${text.slice(0, 500)}`);
  }
  const body = JSON.parse(text) as { id?: unknown };
  if (typeof body.id !== 'string') throw new Error(`POST ${url}: no kernel id in ${text.slice(0, 500)}`);
  return body.id;
}

/** DELETE {server}api/kernels/ID (204; 404 when already gone is fine). */
export async function shutdownKernel(
  hubUrl: string,
  user: string,
  token: string,
  kernelId: string,
  serverName = '',
): Promise<void> {
  const url = `${serverUrl(hubUrl, user, serverName)}api/kernels/${encodeURIComponent(kernelId)}`;
  const res = await fetch(url, { method: 'DELETE', headers: authHeaders(token) });
  await res.body?.cancel();
  if (res.status !== 204 && res.status !== 404) throw new Error(`DELETE ${url} → HTTP ${res.status}`);
}

/**
 * Execute code in a kernel of user's server (a new kernel unless options.kernelId) and wait for
 * both its execute_reply and the kernel going idle. Resolves with the reply status and outputs;
 * rejects on transport trouble or timeout. The kernel keeps running (and keeps what the code
 * allocated) unless options.shutdown.
 */
export async function runInKernel(
  hubUrl: string,
  user: string,
  token: string,
  code: string,
  serverName = '',
  options: RunInKernelOptions = {},
): Promise<KernelRun> {
  const kernelId = options.kernelId ?? (await startKernel(hubUrl, user, token, serverName, options.kernelName));
  const timeoutMs = options.timeoutMs ?? 60_000;
  const session = randomUUID();
  const msgId = randomUUID();
  const wsUrl =
    `${serverUrl(hubUrl, user, serverName).replace(/^http/, 'ws')}api/kernels/` +
    `${encodeURIComponent(kernelId)}/channels?session_id=${session}`;

  const run: KernelRun = { kernelId, status: 'aborted', stdout: '', stderr: '', results: [] };
  try {
    await new Promise<void>((resolve, reject) => {
      // No subprotocol: both servers then speak the legacy JSON-text framing.
      const ws = new WebSocket(wsUrl, { headers: authHeaders(token) });
      let replied = false;
      let idle = false;
      let settled = false;
      const finish = (err?: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        ws.removeAllListeners('close');
        ws.on('error', () => undefined);
        ws.close();
        if (err) reject(err);
        else resolve();
      };
      const timer = setTimeout(
        () => finish(new Error(`runInKernel: no execute_reply/idle from kernel ${kernelId} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      ws.on('unexpected-response', (_req, res) => {
        finish(new Error(`runInKernel: WebSocket ${wsUrl} refused with HTTP ${res.statusCode}`));
      });
      ws.on('error', (err) => finish(new Error(`runInKernel: WebSocket ${wsUrl}: ${err.message}`)));
      ws.on('close', (code, reason) =>
        finish(new Error(`runInKernel: WebSocket closed (${code} ${reason.toString()}) before the reply`)),
      );
      ws.on('open', () => {
        const request = {
          header: {
            msg_id: msgId,
            msg_type: 'execute_request',
            username: user,
            session,
            date: new Date().toISOString(),
            version: '5.3',
          },
          parent_header: {},
          metadata: {},
          content: {
            code,
            silent: false,
            store_history: false,
            user_expressions: {},
            allow_stdin: false,
            stop_on_error: true,
          },
          channel: 'shell',
          buffers: [],
        };
        ws.send(JSON.stringify(request));
      });
      ws.on('message', (data, isBinary) => {
        if (isBinary) return; // binary frames carry buffers; execute output never needs them
        let msg: JupyterMessage;
        try {
          msg = JSON.parse(data.toString()) as JupyterMessage;
        } catch {
          return;
        }
        if (msg.parent_header?.msg_id !== msgId) return;
        const c = msg.content;
        switch (msg.header.msg_type) {
          case 'stream':
            if (c.name === 'stderr') run.stderr += String(c.text ?? '');
            else run.stdout += String(c.text ?? '');
            break;
          case 'execute_result':
          case 'display_data': {
            const d = c.data as Record<string, unknown> | undefined;
            if (d && typeof d['text/plain'] === 'string') run.results.push(d['text/plain']);
            break;
          }
          case 'error':
            run.error = {
              ename: String(c.ename),
              evalue: String(c.evalue),
              traceback: Array.isArray(c.traceback) ? c.traceback.map(String) : [],
            };
            break;
          case 'execute_reply':
            replied = true;
            run.status = c.status === 'ok' || c.status === 'error' ? c.status : 'aborted';
            if (typeof c.execution_count === 'number') run.executionCount = c.execution_count;
            if (c.status === 'error' && !run.error) {
              run.error = { ename: String(c.ename), evalue: String(c.evalue), traceback: [] };
            }
            break;
          case 'status':
            if (c.execution_state === 'idle') idle = true;
            break;
          default:
            break;
        }
        if (replied && idle) finish();
      });
    });
  } finally {
    if (options.shutdown) await shutdownKernel(hubUrl, user, token, kernelId, serverName).catch(() => undefined);
  }
  return run;
}

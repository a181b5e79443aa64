/**
 * A kernel's channels WebSocket as a page holds it: JupyterLab 4 speaks jupyter_server's
 * `v1.kernel.websocket.jupyter.org` framing, the classic notebook the JSON one. The test's own
 * codec, written from jupyter_server's serialize_msg_to_ws_v1 / deserialize_msg_from_ws_v1, so a
 * slip in the product's (electron/core/gateway/kernel-probe.ts) does not cancel out here.
 */
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';

export const V1 = 'v1.kernel.websocket.jupyter.org';

export interface KernelMsg {
  channel: string;
  header: { msg_id: string; msg_type: string; session?: string };
  parent_header: { msg_id?: string; session?: string };
  content: Record<string, unknown>;
}

export function encode(protocol: string, channel: string, msg: Omit<KernelMsg, 'channel'> & { metadata: object }): Buffer | string {
  if (protocol !== V1) return JSON.stringify({ ...msg, channel, buffers: [] });
  const parts = [msg.header, msg.parent_header, msg.metadata, msg.content].map((p) => Buffer.from(JSON.stringify(p)));
  const chan = Buffer.from(channel);
  const offsets = [8 * (parts.length + 3)];
  offsets.push(offsets[0]! + chan.length);
  for (const p of parts) offsets.push(offsets[offsets.length - 1]! + p.length);
  const head = Buffer.alloc(8 * (offsets.length + 1));
  head.writeBigUInt64LE(BigInt(offsets.length), 0);
  offsets.forEach((o, i) => head.writeBigUInt64LE(BigInt(o), 8 * (i + 1)));
  return Buffer.concat([head, chan, ...parts]);
}

export function decode(protocol: string, data: WebSocket.RawData, binary: boolean): KernelMsg | undefined {
  const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer);
  if (protocol !== V1) return binary ? undefined : (JSON.parse(buf.toString('utf8')) as KernelMsg);
  const n = Number(buf.readBigUInt64LE(0));
  const off = Array.from({ length: n }, (_, i) => Number(buf.readBigUInt64LE(8 * (i + 1))));
  const part = (i: number) => JSON.parse(buf.toString('utf8', off[i], off[i + 1])) as never;
  return { channel: buf.toString('utf8', off[0], off[1]), header: part(1), parent_header: part(2), content: part(4) };
}

/**
 * What a kernel behind the server does with a kernel_info_request (for a stand-in hub): the reply
 * on the channel it came on, to its header. undefined for anything else.
 */
export function kernelInfoReply(protocol: string, data: WebSocket.RawData, binary: boolean): Buffer | string | undefined {
  let m: KernelMsg | undefined;
  try {
    m = decode(protocol, data, binary);
  } catch {
    return undefined;
  }
  if (m?.header?.msg_type !== 'kernel_info_request') return undefined;
  const header = { msg_id: `reply-${m.header.msg_id}`, msg_type: 'kernel_info_reply', session: 'kernel', username: 'kernel', date: new Date().toISOString(), version: '5.3' };
  return encode(protocol, m.channel, { header, parent_header: m.header, metadata: {}, content: { status: 'ok', protocol_version: '5.3' } });
}

export class PageKernelSocket {
  readonly received: KernelMsg[] = [];
  closed: { code: number } | undefined;
  private constructor(
    readonly ws: WebSocket,
    readonly session: string,
  ) {
    ws.on('message', (d, binary) => {
      const m = decode(ws.protocol, d, binary);
      if (m) this.received.push(m);
    });
    ws.on('close', (code) => (this.closed = { code }));
  }

  /** Open `url` (…/api/kernels/ID/channels, session_id added) offering `protocols`, with these headers. */
  static open(url: string, protocols: string[], headers: Record<string, string>, session = randomUUID()): Promise<PageKernelSocket> {
    const ws = new WebSocket(`${url}?session_id=${session}`, protocols, { headers });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new PageKernelSocket(ws, session)));
      ws.once('error', reject);
    });
  }

  /** Run `code`; resolves with its text/plain result once the execute_reply came too, or 'no answer in N ms'. */
  execute(code: string, timeoutMs = 15_000): Promise<string> {
    const msgId = randomUUID();
    const header = { msg_id: msgId, msg_type: 'execute_request', username: 'page', session: this.session, date: new Date().toISOString(), version: '5.3' };
    const content = { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true };
    this.ws.send(encode(this.ws.protocol, 'shell', { header, parent_header: {}, metadata: {}, content }));
    const t0 = Date.now();
    return new Promise((resolve) => {
      const poll = setInterval(() => {
        const mine = this.received.filter((m) => m.parent_header.msg_id === msgId);
        const result = mine.find((m) => m.header.msg_type === 'execute_result');
        const reply = mine.find((m) => m.header.msg_type === 'execute_reply');
        if (result && reply) {
          clearInterval(poll);
          resolve(String((result.content.data as Record<string, string>)['text/plain']));
        } else if (Date.now() - t0 > timeoutMs) {
          clearInterval(poll);
          resolve(`no answer in ${timeoutMs} ms (result: ${!!result}, reply: ${!!reply})`);
        }
      }, 50);
    });
  }
}

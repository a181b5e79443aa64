import type { RawData } from 'ws';

/**
 * Proof that a resumed kernel socket reaches the kernel, in the Jupyter kernel WebSocket
 * protocols (jupyter_server's `v1.kernel.websocket.jupyter.org` and the older JSON one).
 *
 * Why: jupyter_server keys a kernel socket's ZMQ channels by its `session_id`. When a page's
 * socket comes back while the server still holds the old one (the link died silently), the
 * server replaces the "stale connection" but lets it close in the background (up to 5 s), and the
 * kernel's ROUTER sockets hand the shared identity over to the new channels (ROUTER_HANDOVER),
 * which leaves the old ones connected but unheard. If the new socket dies first (a second drop,
 * a proxy restart), the server keeps the old, unheard channels as the ones to restore, and the
 * next reconnect with that `session_id` gets them: the kernel looks idle, and every cell the page
 * runs stays at "[*]" for good. Nothing on the server notices.
 *
 * So after the relay resumes a kernel socket it sends `kernel_info_request` on the control and
 * shell channels (a kernel answers on control even while it runs a cell, JEP 80) and holds what
 * the page sends until a reply comes. No reply: see ws-relay.ts.
 */

export const KERNEL_V1_PROTOCOL = 'v1.kernel.websocket.jupyter.org';

/** `…/api/kernels/ID/channels?session_id=S` → the kernel's id and the session id, else undefined. */
export function kernelChannel(pathAndQuery: string): { kernelId: string; sessionId: string } | undefined {
  const url = new URL(pathAndQuery, 'http://gateway.invalid');
  const m = /\/api\/kernels\/([^/]+)\/channels$/.exec(url.pathname);
  if (!m) return undefined;
  return { kernelId: decodeURIComponent(m[1]!), sessionId: url.searchParams.get('session_id') ?? '' };
}

/** The same path with another `session_id` (the rest of the query as it was). */
export function withSessionId(pathAndQuery: string, sessionId: string): string {
  const url = new URL(pathAndQuery, 'http://gateway.invalid');
  url.searchParams.set('session_id', sessionId);
  return url.pathname + url.search;
}

export interface KernelFrame {
  data: Buffer | string;
  binary: boolean;
}

/** A `kernel_info_request` on `channel`, framed for the socket's subprotocol. */
export function kernelInfoRequest(protocol: string, channel: 'control' | 'shell', msgId: string, session: string): KernelFrame {
  const header = { msg_id: msgId, msg_type: 'kernel_info_request', username: 'roamlab', session, date: new Date().toISOString(), version: '5.3' };
  if (protocol === KERNEL_V1_PROTOCOL) {
    const parts = [header, {}, {}, {}].map((p) => Buffer.from(JSON.stringify(p)));
    return { data: encodeV1(channel, parts), binary: true };
  }
  return { data: JSON.stringify({ header, parent_header: {}, metadata: {}, content: {}, channel, buffers: [] }), binary: false };
}

/**
 * The channel and the parent's msg_id of a message from the server, read as little of it as
 * needed; undefined for anything that is not a kernel message in this protocol (it is passed on).
 */
export function replyTo(protocol: string, data: RawData, binary: boolean): { channel: string; parentId: string } | undefined {
  try {
    if (protocol === KERNEL_V1_PROTOCOL) {
      if (!binary) return undefined;
      const buf = toBuffer(data);
      const offsets = v1Offsets(buf);
      if (!offsets || offsets.length < 4) return undefined;
      const channel = buf.toString('utf8', offsets[0], offsets[1]);
      const parent = JSON.parse(buf.toString('utf8', offsets[2], offsets[3])) as { msg_id?: unknown };
      return typeof parent.msg_id === 'string' ? { channel, parentId: parent.msg_id } : undefined;
    }
    // The JSON protocol: text frames; binary frames carry buffers (widgets), never a reply to us.
    if (binary) return undefined;
    const msg = JSON.parse(toBuffer(data).toString('utf8')) as { channel?: unknown; parent_header?: { msg_id?: unknown } };
    const parentId = msg.parent_header?.msg_id;
    return typeof msg.channel === 'string' && typeof parentId === 'string' ? { channel: msg.channel, parentId } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * jupyter_server's v1 framing: u64le count n, n u64le offsets, then the channel name from
 * offsets[0] to offsets[1] and one part (header, parent_header, metadata, content, buffers…)
 * between each next pair.
 */
function encodeV1(channel: string, parts: Buffer[]): Buffer {
  const name = Buffer.from(channel);
  const n = parts.length + 2;
  const offsets = [8 * (1 + n), 8 * (1 + n) + name.length];
  for (const p of parts) offsets.push(offsets[offsets.length - 1]! + p.length);
  const head = Buffer.alloc(8 * (1 + n));
  head.writeBigUInt64LE(BigInt(n), 0);
  offsets.forEach((o, i) => head.writeBigUInt64LE(BigInt(o), 8 * (i + 1)));
  return Buffer.concat([head, name, ...parts]);
}

function v1Offsets(buf: Buffer): number[] | undefined {
  if (buf.length < 8) return undefined;
  const n = Number(buf.readBigUInt64LE(0));
  if (n < 2 || n > 1024 || buf.length < 8 * (1 + n)) return undefined;
  const offsets: number[] = [];
  for (let i = 0; i < n; i++) {
    const o = Number(buf.readBigUInt64LE(8 * (i + 1)));
    if (o > buf.length || (i > 0 && o < offsets[i - 1]!)) return undefined;
    offsets.push(o);
  }
  return offsets;
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

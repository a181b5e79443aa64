/**
 * Acknowledge the gateway's small packets at once.
 *
 * sshd leaves Nagle's algorithm on for forwarding connections (it sets TCP_NODELAY only for TTY
 * sessions), so it holds a small packet — a channel-open confirmation, the next chunk of a
 * streamed response, a response right behind a window adjust — until everything it sent before
 * is acknowledged. Our kernel delays that ACK (up to 40 ms on Linux) in the hope of piggybacking
 * it on data we send; when we have nothing to send, both sides wait. Measured on loopback: 1 in
 * 60 new channels and the first chunks of a streamed response waited ~42 ms, which is the p99
 * of every request through the tunnel (OpenSSH's `ssh -L` waits the same; a client can't set
 * TCP_QUICKACK from Node).
 *
 * So: when bytes arrive and this side writes nothing by the next turn of the event loop, send an
 * SSH_MSG_IGNORE (RFC 4253 §11.2, the protocol's no-op, ~36 bytes encrypted); the kernel sends
 * the ACK with it. A reply written in the same turn (the usual case: the next request, a window
 * adjust, a channel close) carries the ACK itself and no IGNORE is sent.
 *
 * Small reads are acknowledged at once, every time: they are what Nagle holds the next packet
 * behind, and sshd sends at most one small packet per ACK, so they come no faster than we answer.
 * A read that brings more than `smallBytes` since our last write (our IGNOREs do not count) is a
 * download, where the kernel ACKs promptly anyway (every second full segment): there, at most one
 * IGNORE per `minGapMs`, so a download costs a few hundred tiny packets a second at most, never
 * one per read — also over a WAN, where reads are a segment or two each. (A time
 * limit alone held back the ACK after a channel's close when the previous IGNORE was under 2 ms
 * old, and sshd held the next channel's open confirmation behind it: 1 in 12 back-to-back new
 * connections took 2.4 ms instead of 0.7.)
 */
import type { Duplex } from 'node:stream';

export interface PromptAckOptions {
  /** Fewest milliseconds between two IGNOREs after reads of more than `smallBytes` (default 2). */
  minGapMs?: number;
  /** Bytes read since our last write up to which the IGNORE goes out at once (default 16 KiB). */
  smallBytes?: number;
}

export interface PromptAck {
  /** IGNOREs sent so far (the tests read it). */
  readonly sent: number;
  stop(): void;
}

/**
 * Watch `sock` (what ssh2 reads and writes: the TCP socket, or the tunnel through a jump host) and call `sendIgnore` when a read is not
 * followed by a write. `sendIgnore` returns false when it could not send (mid key exchange,
 * closed); that is fine — the next read tries again.
 */
export function promptAck(sock: Duplex, sendIgnore: () => boolean, opts: PromptAckOptions = {}): PromptAck {
  const minGapMs = opts.minGapMs ?? 2;
  const smallBytes = opts.smallBytes ?? 16 * 1024;
  let writes = 0;
  /** `writes` when the newest bytes arrived: a write after that carried their ACK. */
  let writesAtRead = 0;
  /** Bytes read since our last write other than an IGNORE. */
  let readSinceWrite = 0;
  let sent = 0;
  let lastSentAt = -Infinity;
  let pendingImmediate: NodeJS.Immediate | undefined;
  let pendingTimer: NodeJS.Timeout | undefined;
  let stopped = false;

  const originalWrite = sock.write;
  sock.write = function (this: Duplex, ...args: unknown[]) {
    writes++;
    readSinceWrite = 0;
    return (originalWrite as (...a: unknown[]) => boolean).apply(this, args);
  } as Duplex['write'];

  const check = () => {
    pendingImmediate = undefined;
    pendingTimer = undefined;
    if (stopped || sock.destroyed || writes !== writesAtRead) return;
    const wait = readSinceWrite > smallBytes ? lastSentAt + minGapMs - performance.now() : 0;
    if (wait > 0) {
      pendingTimer = setTimeout(check, wait);
      pendingTimer.unref();
      return;
    }
    const read = readSinceWrite; // our IGNORE is written through sock.write, but does not end a download
    if (sendIgnore()) {
      sent++;
      lastSentAt = performance.now();
    }
    readSinceWrite = read;
  };

  const onData = (chunk: Buffer) => {
    writesAtRead = writes;
    readSinceWrite += chunk.length;
    if (pendingImmediate !== undefined || stopped) return;
    if (pendingTimer !== undefined) {
      if (readSinceWrite > smallBytes) return;
      // We wrote since the throttled read, and what came after is small: acknowledge it now.
      clearTimeout(pendingTimer);
      pendingTimer = undefined;
    }
    pendingImmediate = setImmediate(check);
  };
  sock.on('data', onData);

  return {
    get sent() {
      return sent;
    },
    stop() {
      stopped = true;
      sock.off('data', onData);
      if (pendingImmediate !== undefined) clearImmediate(pendingImmediate);
      if (pendingTimer !== undefined) clearTimeout(pendingTimer);
      pendingImmediate = undefined;
      pendingTimer = undefined;
      sock.write = originalWrite;
    },
  };
}

/** The ssh2 internals `sendSshIgnore` uses; checked at run time, so a changed ssh2 only loses the speed-up. */
interface Ssh2Protocol {
  _kexinit?: unknown;
  _packetRW?: { write?: { allocStart: number; alloc(n: number): Buffer; finalize(p: Buffer): Buffer } };
  _cipher?: { encrypt(p: Buffer): void };
}

/**
 * Send SSH_MSG_IGNORE with empty data through an ssh2 Client. ssh2 has no public call for it; this
 * is what its own ping() does with another message type. Returns false (and sends nothing) during
 * a key exchange or when the internals are not what this version expects.
 */
export function sendSshIgnore(client: unknown): boolean {
  const proto = (client as { _protocol?: Ssh2Protocol })._protocol;
  const w = proto?._packetRW?.write;
  if (!proto || !w || !proto._cipher || proto._kexinit !== undefined) return false;
  const p = w.allocStart;
  const packet = w.alloc(1 + 4);
  packet[p] = 2; // SSH_MSG_IGNORE
  packet.writeUInt32BE(0, p + 1); // string data, empty
  proto._cipher.encrypt(w.finalize(packet));
  return true;
}

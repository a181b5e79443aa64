import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { promptAck, type PromptAckOptions } from '../../../electron/core/transport/prompt-ack';

/** Enough of a socket for promptAck: 'data' events, write(), destroyed. */
class FakeSocket extends EventEmitter {
  destroyed = false;
  written: string[] = [];
  write(chunk: string): boolean {
    this.written.push(chunk);
    return true;
  }
}

const turn = () => new Promise<void>((r) => setImmediate(r));

function setup(opts: PromptAckOptions = {}) {
  const sock = new FakeSocket();
  const ignores: number[] = [];
  const ack = promptAck(sock as unknown as Socket, () => {
    ignores.push(performance.now());
    sock.write('IGNORE'); // what ssh2 does with the packet
    return true;
  }, opts);
  return { sock, ack, ignores };
}

const big = Buffer.alloc(32 * 1024); // one SSH packet of a download

afterEach(() => vi.useRealTimers());

describe('promptAck', () => {
  it('sends one IGNORE when bytes arrive and nothing is written back', async () => {
    const { sock, ack } = setup();
    sock.emit('data', Buffer.from('window adjust'));
    await turn();
    await turn();
    expect(ack.sent).toBe(1);
    expect(sock.written).toEqual(['IGNORE']);
  });

  it('sends nothing when a reply is written in the same turn: the reply carries the ACK', async () => {
    const { sock, ack } = setup();
    sock.emit('data', Buffer.from('response'));
    sock.write('next request');
    await turn();
    await turn();
    expect(ack.sent).toBe(0);
  });

  it('acknowledges bytes that arrive after our last write in the same turn', async () => {
    const { sock, ack } = setup();
    sock.emit('data', Buffer.from('close'));
    sock.write('channel open');
    sock.emit('data', Buffer.from('window adjust')); // newest bytes: nothing written after them
    await turn();
    await turn();
    expect(ack.sent).toBe(1);
  });

  it('during a download sends at most one IGNORE per minGapMs, but still acknowledges the last read', async () => {
    const { sock, ack, ignores } = setup({ minGapMs: 20 });
    for (let i = 0; i < 10; i++) {
      sock.emit('data', big);
      await turn();
    }
    expect(ack.sent).toBe(1);
    await new Promise((r) => setTimeout(r, 40));
    expect(ack.sent).toBe(2);
    expect(ignores[1]! - ignores[0]!).toBeGreaterThanOrEqual(19);
  });

  it('acknowledges every small read at once, however close together', async () => {
    // A channel's close, then the next channel's open confirmation: sshd holds the second behind
    // the ACK of the first, so a throttled ACK would hold up the next request.
    const { sock, ack } = setup({ minGapMs: 20 });
    for (let i = 0; i < 5; i++) {
      sock.emit('data', Buffer.from('channel close'));
      await turn();
      await turn();
      expect(ack.sent).toBe(i + 1);
    }
  });

  it('a download in small reads (a WAN link) is throttled too, once the small reads add up', async () => {
    const { sock, ack } = setup({ minGapMs: 20, smallBytes: 4096 });
    for (let i = 0; i < 10; i++) {
      sock.emit('data', Buffer.alloc(1024)); // one segment
      await turn();
      await turn();
    }
    // 4 KiB since our last write of our own: acknowledged at once; after that, one per 20 ms.
    expect(ack.sent).toBe(4);
    await new Promise((r) => setTimeout(r, 40));
    expect(ack.sent).toBe(5);
  });

  it('after a throttled download read and a write, acknowledges the next small read at once', async () => {
    const { sock, ack } = setup({ minGapMs: 20 });
    sock.emit('data', big);
    await turn();
    expect(ack.sent).toBe(1);
    sock.emit('data', big); // within minGapMs: waits for the timer
    await turn();
    expect(ack.sent).toBe(1);
    sock.write('window adjust'); // carries that ACK
    sock.emit('data', Buffer.from('small')); // nothing written after it
    await turn();
    await turn();
    expect(ack.sent).toBe(2);
  });

  it('stops: no more IGNOREs, write() restored', async () => {
    const { sock, ack } = setup();
    const wrapped = sock.write;
    sock.emit('data', Buffer.from('x'));
    ack.stop();
    await turn();
    expect(ack.sent).toBe(0);
    expect(sock.write).not.toBe(wrapped);
    sock.emit('data', Buffer.from('y'));
    await turn();
    expect(ack.sent).toBe(0);
  });

  it('sends nothing on a destroyed socket', async () => {
    const { sock, ack } = setup();
    sock.emit('data', Buffer.from('x'));
    sock.destroyed = true;
    await turn();
    expect(ack.sent).toBe(0);
  });
});

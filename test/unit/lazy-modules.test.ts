import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadSsh2, pooledRandomFill } from '../../electron/core/lazy-modules';

describe("ssh2's padding bytes", () => {
  it('come from one block of the generator, each byte handed out once, a new block when it runs out', () => {
    let blocks = 0;
    const own = ((buf: Uint8Array, offset = 0, size?: number) => {
      blocks++;
      // A recognisable "random" block: byte i of block k is (k * 7 + i) & 255.
      const n = size ?? buf.byteLength - offset;
      for (let i = 0; i < n; i++) buf[offset + i] = (blocks * 7 + i) & 255;
      return buf;
    }) as unknown as typeof crypto.randomFillSync;
    const fill = pooledRandomFill(own);
    const seen: number[] = [];
    const packet = Buffer.alloc(40);
    for (let i = 0; i < 300; i++) {
      fill(packet, 5 + (i % 3), 4 + (i % 16));
      seen.push(...packet.subarray(5 + (i % 3), 5 + (i % 3) + 4 + (i % 16)));
    }
    // 300 paddings of 4–19 bytes (3450 bytes) from one 4 KiB block, in order, none repeated.
    expect(blocks).toBe(1);
    expect(seen).toEqual(Array.from({ length: seen.length }, (_, i) => (7 + i) & 255));
    for (let i = 0; i < 100; i++) fill(packet, 0, 19);
    expect(blocks).toBe(2);
  });

  it('asks the generator itself for anything large or not a byte array, and fills what it is given', () => {
    const fill = pooledRandomFill(crypto.randomFillSync);
    const big = fill(Buffer.alloc(1024));
    expect(big.some((b) => b !== 0)).toBe(true);
    const words = fill(new Uint32Array(8));
    expect(words.some((w) => w !== 0)).toBe(true);
    const small = fill(Buffer.alloc(16));
    expect(small.some((b) => b !== 0)).toBe(true);
  });

  it('are only ssh2\'s: crypto keeps its own function after ssh2 has loaded', () => {
    const own = crypto.randomFillSync;
    expect(typeof loadSsh2().Client).toBe('function');
    expect(crypto.randomFillSync).toBe(own);
  });
});

import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { LiveTransport } from '../../../electron/core/session/live-transport';
import type { HubTransport } from '../../../electron/core/transport/transport';

/** A transport whose loss the test triggers (the real SSH one is covered in roaming*.test.ts). */
function fake(name: string): HubTransport & { lose(reason: string): void; closed: boolean; listeners: number } {
  const listeners = new Set<(r: string) => void>();
  const t = {
    hubUrl: new URL('http://hub.example/jhub/'),
    agent: new http.Agent(),
    describe: name,
    closed: false,
    get listeners() {
      return listeners.size;
    },
    onLost(l: (r: string) => void) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    lose(reason: string) {
      for (const l of [...listeners]) l(reason);
    },
    async close() {
      t.closed = true;
    },
  };
  return t;
}

describe('LiveTransport', () => {
  it("gives the current connection's round trip, which the hub probes' timeouts grow with", async () => {
    const live = new LiveTransport({ ...fake('a'), rttMs: 1800 });
    expect(live.rttMs).toBe(1800);
    await live.swap(fake('direct'));
    expect(live.rttMs).toBeUndefined();
  });

  it('reads the current connection, reports its loss once per connection, and closes the old one on swap', async () => {
    const a = fake('a');
    const b = fake('b');
    const live = new LiveTransport(a);
    const lost: string[] = [];
    live.onLost((r) => lost.push(r));
    expect(live.agent).toBe(a.agent);
    a.lose('keepalive');
    expect(live.isLost).toBe(true);
    expect(lost).toEqual(['keepalive']);
    await live.swap(b);
    expect(a.closed).toBe(true);
    expect(a.listeners).toBe(0); // nothing of the session stays attached to the old connection
    expect(live.isLost).toBe(false);
    expect(live.agent).toBe(b.agent);
    expect(live.describe).toBe('b');
    a.lose('late echo from the old connection');
    expect(lost).toEqual(['keepalive']);
    b.lose('reset');
    expect(lost).toEqual(['keepalive', 'reset']);
    await live.close();
    expect(b.closed).toBe(true);
    expect(b.listeners).toBe(0);
  });
});

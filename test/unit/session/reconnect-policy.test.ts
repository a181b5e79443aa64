import { describe, expect, it } from 'vitest';
import { backReason, backoffDelayMs, connectionNotice, formatDuration, lossReason, reconnectingReason, shouldNotifyDrop } from '../../../electron/core/session/reconnect-policy';

describe('reconnect backoff', () => {
  const mid = () => 0.5; // no jitter either way

  it('tries at once, then 1, 2, 4, 8, 16 s, and never waits more than 30 s', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 50].map((n) => backoffDelayMs(n, mid))).toEqual([0, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  });

  it('spreads each delay by at most ±20 % and stays within the cap', () => {
    for (const r of [0, 0.25, 0.75, 0.999999]) {
      const d = backoffDelayMs(4, () => r);
      expect(d).toBeGreaterThanOrEqual(3200);
      expect(d).toBeLessThanOrEqual(4800);
      expect(backoffDelayMs(20, () => r)).toBeLessThanOrEqual(30000);
    }
    expect(backoffDelayMs(4, () => 0)).not.toBe(backoffDelayMs(4, () => 0.99));
  });

  it('takes other base and cap values', () => {
    expect(backoffDelayMs(3, mid, { baseMs: 100, capMs: 150 })).toBe(150);
    expect(backoffDelayMs(2, mid, { baseMs: 100 })).toBe(100);
  });
});

describe('words while away', () => {
  it('says what was lost, how long ago, and when the next try is', () => {
    expect(reconnectingReason({ lossReason: lossReason('network-down'), downForMs: 12_300, nextTryInMs: 2000, trying: false })).toBe(
      'Network lost 12 s ago — reconnecting, next try in 2 s',
    );
    expect(reconnectingReason({ lossReason: lossReason('ssh-lost', 'the gateway stopped answering keepalives'), downForMs: 3000, trying: true })).toBe(
      'Connection lost (the gateway stopped answering keepalives) 3 s ago — reconnecting…',
    );
    expect(reconnectingReason({ lossReason: lossReason('hub-unreachable'), downForMs: 65_000, nextTryInMs: 0, trying: false, lastError: 'ECONNREFUSED' })).toBe(
      'The hub is not answering 1 min 5 s ago — reconnecting, next try in 1 s (last try: ECONNREFUSED)',
    );
  });

  it('says how long it was away when back', () => {
    expect(backReason(3400)).toBe('Back — 3 s offline');
    expect(backReason(3 * 60_000)).toBe('Back — 3 min offline');
  });

  it('formats durations coarsely', () => {
    expect([0, 999, 59_000, 60_000, 61_000, 3_600_000, 3_720_000].map(formatDuration)).toEqual(['0 s', '1 s', '59 s', '1 min', '1 min 1 s', '1 h', '1 h 2 min']);
  });

  it('notifies only for drops longer than a few seconds', () => {
    expect(shouldNotifyDrop(1500)).toBe(false);
    expect(shouldNotifyDrop(5000)).toBe(true);
  });
});

describe('connection notifications', () => {
  const base = { facilityName: 'DESY NAF' };
  it('says nothing for a blink, once after 5 s, and once when back', () => {
    expect(connectionNotice({ ...base, state: 'reconnecting', downForMs: 2000, toldLost: false })).toBeUndefined();
    expect(connectionNotice({ ...base, state: 'ready', downForMs: 2000, toldLost: false })).toBeUndefined();
    const lost = connectionNotice({ ...base, state: 'reconnecting', downForMs: 5200, toldLost: false });
    expect(lost).toMatchObject({ kind: 'lost', title: 'DESY NAF: connection lost' });
    expect(lost!.body).toMatch(/keep running/);
    expect(connectionNotice({ ...base, state: 'reconnecting', downForMs: 60_000, toldLost: true })).toBeUndefined();
    expect(connectionNotice({ ...base, state: 'ready', downForMs: 61_000, toldLost: true })).toEqual({
      kind: 'back',
      title: 'DESY NAF: back',
      body: 'Reconnected after 1 min 1 s offline; the Lab window carries on.',
    });
  });
});

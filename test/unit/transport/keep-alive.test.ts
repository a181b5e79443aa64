import { describe, expect, it } from 'vitest';

import { idleLimitMs } from '../../../electron/core/transport/keep-alive';

describe('idleLimitMs', () => {
  it("drops a free connection a second and a round trip before the server's Keep-Alive limit", () => {
    expect(idleLimitMs('timeout=5', 0)).toBe(4000);
    expect(idleLimitMs('timeout=5, max=100', 2000)).toBe(2000); // Apache's form, a 2 s round trip
    expect(idleLimitMs('max=100, timeout=75', 150)).toBe(73850);
  });

  it('keeps nothing when the link is too slow for the limit, and leaves it to Node without a hint', () => {
    expect(idleLimitMs('timeout=5', 4500)).toBeLessThanOrEqual(0);
    expect(idleLimitMs(undefined, 100)).toBeUndefined();
    expect(idleLimitMs('max=100', 100)).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import { forwardError } from '../../electron/core/transport/ssh-transport';

// ssh2's error for a channel sshd refused: its words after a fixed prefix, RFC 4254's reason.
const refused = (words: string, reason: number) => Object.assign(new Error(`(SSH) Channel open failure: ${words}`), { reason });
const hub = { host: 'hub.example.org', port: 8000 };

describe('forwardError', () => {
  it('names AllowTcpForwarding / PermitOpen refusals as the gateway not allowing the tunnel', () => {
    const e = forwardError(refused('open failed', 1), hub);
    expect(e).toMatchObject({ code: 'SSH_FORWARD_PROHIBITED', forwardRefused: 'prohibited', message: 'the SSH gateway does not allow tunnels to hub.example.org:8000' });
  });

  it.each([
    ['Connection refused', 'ECONNREFUSED'],
    ['Name or service not known', 'ENOTFOUND'],
    ['Connection timed out', 'ETIMEDOUT'],
    ['No route to host', 'EHOSTUNREACH'],
    ['Network is unreachable', 'ENETUNREACH'],
    ['something new', 'SSH_FORWARD_FAILED'],
  ])('keeps sshd\'s words "%s" and gives them the code %s', (words, code) => {
    const e = forwardError(refused(words, 2), hub);
    expect(e).toMatchObject({ code, forwardRefused: 'failed', message: `the SSH gateway could not connect to hub.example.org:8000 (${words})` });
  });

  it('says nothing it was not told when sshd gives no words', () => {
    expect(forwardError(refused('', 4), hub).message).toBe('the SSH gateway could not connect to hub.example.org:8000');
  });
});

import { describe, expect, it } from 'vitest';
import { errorAction, retryAfter } from '../../renderer/src/error-actions';
import type { ErrorInfo } from '../../electron/common/ipc-contract';

const err = (kind: string, details: Record<string, unknown> = {}): ErrorInfo => ({ kind, message: `m-${kind}`, hint: `h-${kind}`, details });

describe('errorAction: what the launcher offers for each error kind', () => {
  it.each([
    ['hub-bad-request', 'pick-class', 'Pick another class.'],
    ['class-unknown', 'pick-class', 'Pick another class.'],
    ['hub-forbidden', 'sign-in', 'Sign in again.'],
    ['credentials-missing', 'sign-in', 'Sign in again.'],
    ['auth-failed', 'sign-in', 'Sign in again.'],
    ['hub-unreachable', 'check-connection', 'Check your connection, then try again.'],
    ['hub-timeout', 'check-connection', 'Check your connection, then try again.'],
    ['ssh-unreachable', 'check-connection', 'Check your connection, then try again.'],
    ['keychain-unavailable', 'keychain', 'Unlock or start the system keychain, then try again.'],
    ['hub-already-running', 'open-existing', 'Open it from the sessions list, or stop it first.'],
    ['something-new', 'retry', 'Try again.'],
  ])('%s → %s', (kind, action, text) => {
    expect(errorAction(err(kind))).toMatchObject({ action, text });
  });

  it('an SSH sign-in refused: the key is the profile\'s to fix, a code or a missing person is another try', () => {
    expect(errorAction(err('ssh-auth-failed', { host: 'g', port: 22, user: 'u' })).action).toBe('fix-profile');
    // A wrong one-time code; the servers list that may not ask for one; a second step nobody could be asked for.
    for (const d of [{ prompted: 2 }, { prompted: 0 }, { methods: 'keyboard-interactive' }]) {
      expect(errorAction(err('ssh-auth-failed', d))).toEqual({ action: 'retry', text: 'Try again with a fresh code or the right password.' });
    }
  });

  it('429 waits as long as the hub asked, rounded up', () => {
    expect(errorAction(err('hub-rate-limited', { retryAfterSeconds: 7 }))).toEqual({ action: 'retry-after', text: 'Try again in 7 s.', retryAfterSeconds: 7 });
    expect(retryAfter(err('hub-rate-limited', { retryAfterSeconds: 2.2 }))).toBe(3);
  });

  it('429 without a usable Retry-After gives no countdown', () => {
    for (const v of [undefined, 'soon', -1, Number.NaN, Infinity]) {
      const a = errorAction(err('hub-rate-limited', { retryAfterSeconds: v }));
      expect(a.action).toBe('retry-after');
      expect(a.retryAfterSeconds).toBeUndefined();
    }
  });

  it('a failed spawn quotes the hub and suggests a smaller class', () => {
    const a = errorAction(err('spawn-failed', { hubMessage: 'Out of memory' }));
    expect(a.action).toBe('smaller-class');
    expect(a.text).toBe('The hub said: Out of memory. Pick a smaller class or try again.');
    expect(errorAction(err('spawn-failed')).text).toBe('Pick a smaller class or try again.');
  });

  it('host-key errors carry the fingerprints to compare', () => {
    const a = errorAction(
      err('host-key-changed', { host: 'gate:22', keyType: 'ssh-ed25519', expectedFingerprint: 'SHA256:old', presentedFingerprint: 'SHA256:new' }),
    );
    expect(a.action).toBe('host-key');
    expect(a.text).toMatch(/Do not continue/);
    expect(a.facts).toEqual([
      { label: 'Host', value: 'gate:22' },
      { label: 'Key type', value: 'ssh-ed25519' },
      { label: 'Expected (known_hosts)', value: 'SHA256:old' },
      { label: 'Presented by the server', value: 'SHA256:new' },
    ]);
    expect(errorAction(err('host-key-unknown', { presentedFingerprint: 'SHA256:x' })).facts).toEqual([{ label: 'Presented by the server', value: 'SHA256:x' }]);
  });

  it('profile errors name the field', () => {
    const a = errorAction(err('profile-invalid', { field: 'classes[0].memoryGB' }));
    expect(a).toMatchObject({ action: 'fix-profile', field: 'classes[0].memoryGB' });
    expect(a.text).toContain('classes[0].memoryGB');
    expect(errorAction(err('profile-invalid')).field).toBeUndefined();
  });

  it('a key that needs its agent says to load it there; an unreadable key file points at the profile', () => {
    expect(errorAction(err('ssh-key-unreadable', { encrypted: true }))).toMatchObject({ action: 'retry', text: expect.stringContaining('ssh-add') });
    expect(errorAction(err('ssh-key-unreadable', { publicOnly: true })).action).toBe('retry');
    expect(errorAction(err('ssh-key-unreadable', { code: 'ENOENT' })).action).toBe('fix-profile');
  });

  it('a cancelled session asks nothing of the person', () => {
    expect(errorAction(err('cancelled'))).toEqual({ action: 'none', text: '' });
  });
});

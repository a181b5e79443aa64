import type { ErrorKind } from '../core/errors';

/**
 * Exit codes of the `roamlab` command (documented in docs/cli.md). Grouped by what the person
 * does next, so scripts can branch on them.
 */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  /** Sign in again: wrong password, no stored credentials, token refused. */
  auth: 3,
  /** The hub refused the request: unknown class, already running, rate limited, server errors. */
  hub: 4,
  /** The hub or SSH gateway could not be reached, or timed out. */
  network: 5,
  /** The SSH gateway's host key is unknown (not accepted) or changed. */
  hostKey: 6,
  /** No OS keychain answered. */
  keychain: 7,
  /** A facility profile is missing or invalid. */
  profile: 8,
  /** Interrupted (Ctrl-C) before the session was ready; any spawn in flight was cancelled. */
  interrupted: 130,
} as const;

export function exitCodeFor(kind: ErrorKind): number {
  switch (kind) {
    case 'usage':
    case 'forbidden':
    case 'class-unknown':
      return EXIT.usage;
    case 'auth-failed':
    case 'credentials-missing':
    case 'hub-forbidden':
    case 'ssh-auth-failed':
    case 'ssh-key-unreadable':
      return EXIT.auth;
    case 'hub-bad-request':
    case 'hub-already-running':
    case 'hub-pending-stop':
    case 'hub-server-stopped':
    case 'hub-not-found':
    case 'hub-rate-limited':
    case 'hub-server-error':
    case 'hub-garbage':
    case 'spawn-failed':
      return EXIT.hub;
    case 'hub-timeout':
    case 'hub-unreachable':
    case 'ssh-unreachable':
      return EXIT.network;
    case 'host-key-unknown':
    case 'host-key-changed':
      return EXIT.hostKey;
    case 'keychain-unavailable':
      return EXIT.keychain;
    case 'profile-invalid':
    case 'profile-not-found':
      return EXIT.profile;
    case 'cancelled':
      return EXIT.interrupted;
  }
}

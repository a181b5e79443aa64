/**
 * Every failure Roamlab reports to a person is a RoamlabError with a `kind` the UI can map to
 * an action, a `message` saying what happened, and a `hint` saying what to do next.
 * Messages never contain secrets: callers pass origins and names, never URLs with tokens.
 */
export type ErrorKind =
  // facility profiles
  | 'profile-invalid'
  | 'profile-not-found'
  | 'class-unknown'
  // credentials
  | 'keychain-unavailable'
  | 'credentials-missing'
  // hub
  | 'auth-failed'
  | 'hub-forbidden'
  | 'hub-bad-request'
  | 'hub-already-running'
  | 'hub-pending-stop'
  | 'hub-server-stopped'
  | 'hub-not-found'
  | 'hub-rate-limited'
  | 'hub-server-error'
  | 'hub-timeout'
  | 'hub-unreachable'
  | 'hub-garbage'
  | 'spawn-failed'
  // ssh
  | 'host-key-unknown'
  | 'host-key-changed'
  | 'ssh-auth-failed'
  | 'ssh-unreachable'
  | 'ssh-key-unreadable'
  // local
  | 'forbidden'
  | 'usage'
  | 'cancelled';

export interface ErrorDetails {
  /** HTTP status the hub answered, where there was one. */
  status?: number;
  /** Seconds the hub asked us to wait (429 Retry-After). */
  retryAfterSeconds?: number;
  /** The hub's own message, verbatim, where it gave one. */
  hubMessage?: string;
  /** Profile errors: the file and the field path. */
  file?: string;
  field?: string;
  /** Host key errors: SHA256 fingerprints as OpenSSH prints them. */
  expectedFingerprint?: string;
  presentedFingerprint?: string;
  host?: string;
  keyType?: string;
  [key: string]: unknown;
}

export class RoamlabError extends Error {
  override readonly name = 'RoamlabError';
  constructor(
    readonly kind: ErrorKind,
    message: string,
    readonly hint: string,
    readonly details: ErrorDetails = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** One paragraph for a terminal or a dialog: what happened, then what to do. */
  describe(): string {
    return this.hint ? `${this.message}\n${this.hint}` : this.message;
  }
}

export function isRoamlabError(e: unknown, kind?: ErrorKind): e is RoamlabError {
  return e instanceof RoamlabError && (kind === undefined || e.kind === kind);
}

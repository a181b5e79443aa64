/**
 * What a person can do about an error, by its kind. Pure: the components render the result, the
 * unit test pins the mapping (test/unit/error-actions.test.ts).
 */
import type { ErrorInfo } from '../../electron/common/ipc-contract';

export type ActionKind =
  | 'pick-class'
  | 'retry-after'
  | 'sign-in'
  | 'check-connection'
  | 'smaller-class'
  | 'host-key'
  | 'fix-profile'
  | 'keychain'
  | 'open-existing'
  | 'retry'
  | 'none';

export interface ErrorAction {
  action: ActionKind;
  /** One sentence: what to do next. */
  text: string;
  /** retry-after: seconds the hub asked to wait. */
  retryAfterSeconds?: number;
  /** fix-profile: the field of the profile that is wrong. */
  field?: string;
  /** host-key: what the person should compare, as label/value pairs. */
  facts?: { label: string; value: string }[];
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

/** Seconds to wait, as a whole positive number, or undefined when the hub did not say. */
export function retryAfter(error: ErrorInfo): number | undefined {
  const v = error.details.retryAfterSeconds;
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.ceil(v) : undefined;
}

export function errorAction(error: ErrorInfo): ErrorAction {
  switch (error.kind) {
    case 'hub-bad-request':
    case 'class-unknown':
      return { action: 'pick-class', text: 'Pick another class.' };
    case 'hub-rate-limited': {
      const seconds = retryAfter(error);
      return seconds === undefined
        ? { action: 'retry-after', text: 'The hub is busy: try again in a little while.' }
        : { action: 'retry-after', text: `Try again in ${seconds} s.`, retryAfterSeconds: seconds };
    }
    case 'hub-forbidden':
    case 'credentials-missing':
    case 'auth-failed':
      return { action: 'sign-in', text: 'Sign in again.' };
    case 'hub-unreachable':
    case 'hub-timeout':
    case 'ssh-unreachable':
      return { action: 'check-connection', text: 'Check your connection, then try again.' };
    case 'spawn-failed': {
      const said = str(error.details.hubMessage);
      return { action: 'smaller-class', text: `${said ? `The hub said: ${said}. ` : ''}Pick a smaller class or try again.` };
    }
    case 'host-key-unknown':
    case 'host-key-changed': {
      const d = error.details;
      const facts = [
        { label: 'Host', value: str(d.host) },
        { label: 'Key type', value: str(d.keyType) },
        { label: 'Expected (known_hosts)', value: str(d.expectedFingerprint) },
        { label: 'Presented by the server', value: str(d.presentedFingerprint) },
      ].filter((f): f is { label: string; value: string } => f.value !== undefined);
      return {
        action: 'host-key',
        text:
          error.kind === 'host-key-changed'
            ? 'The gateway presented a different key than before. Do not continue: ask your facility whether the key was changed.'
            : 'Compare the fingerprint with the one your facility publishes, then try again.',
        facts,
      };
    }
    case 'profile-invalid':
    case 'profile-not-found': {
      const field = str(error.details.field);
      return {
        action: 'fix-profile',
        text: field ? `Fix ${field} in the profile, or ask your facility for a current one.` : 'Check the profile file, or ask your facility for a current one.',
        field,
      };
    }
    case 'ssh-key-unreadable':
      // An encrypted key, or one that lives only in an agent: the agent is the way in, not the profile.
      if (error.details.encrypted === true || error.details.publicOnly === true) {
        return { action: 'retry', text: 'Load the key into your SSH agent (ssh-add), then try again.' };
      }
      return { action: 'fix-profile', text: 'Check the SSH user and key in the facility profile.' };
    case 'ssh-auth-failed':
      // What was typed at the gateway's prompt (a one-time code), or no one there to type it,
      // or a second step nobody could be asked for: the profile is fine, another try is the way.
      if (error.details.prompted !== undefined || error.details.methods !== undefined) {
        return { action: 'retry', text: 'Try again with a fresh code or the right password.' };
      }
      return { action: 'fix-profile', text: 'Check the SSH user and key in the facility profile.' };
    case 'keychain-unavailable':
      return { action: 'keychain', text: 'Unlock or start the system keychain, then try again.' };
    case 'hub-already-running':
      return { action: 'open-existing', text: 'Open it from the sessions list, or stop it first.' };
    case 'hub-pending-stop':
      return { action: 'retry', text: 'Wait a moment for the hub, then try again.' };
    case 'hub-server-stopped':
      return { action: 'retry', text: 'Start the server again.' };
    case 'cancelled':
      return { action: 'none', text: '' };
    default:
      return { action: 'retry', text: 'Try again.' };
  }
}

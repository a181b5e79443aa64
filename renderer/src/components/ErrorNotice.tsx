import type { ErrorInfo } from '../api';
import { errorAction, type ActionKind } from '../error-actions';

interface Props {
  error: ErrorInfo;
  /** Seconds still to wait, for a live "try again in N s" (rate limits). */
  secondsLeft?: number;
  /** A label for tests and screen readers: where this error belongs. */
  label?: string;
  /** Only what happened and the hint, no next step (e.g. in a list of facilities). */
  compact?: boolean;
}

// The core's hint already says what to do for these; a second line would repeat it.
const HINT_SUFFICES: ActionKind[] = ['fix-profile', 'keychain', 'retry', 'none'];

/** An error as a person reads it: what happened, the hint, and what to do next. */
export function ErrorNotice({ error, secondsLeft, label, compact }: Props) {
  const a = errorAction(error);
  let next = compact || HINT_SUFFICES.includes(a.action) ? '' : a.text;
  let hint = error.hint;
  if (a.action === 'retry-after' && secondsLeft !== undefined && !compact) {
    // A live countdown replaces the hint's fixed "try again in N s".
    next = secondsLeft > 0 ? `Try again in ${secondsLeft} s.` : 'You can try again now.';
    hint = '';
  }
  if (next && hint.toLowerCase().includes(next.toLowerCase().replace(/\.$/, ''))) next = '';
  return (
    <div className="notice notice-error" role="alert" aria-label={label} data-kind={error.kind} data-action={a.action} data-field={a.field}>
      <p className="notice-message">{error.message}</p>
      {hint && <p className="notice-hint">{hint}</p>}
      {a.facts && a.facts.length > 0 && (
        <dl className="facts">
          {a.facts.map((f) => (
            <div key={f.label}>
              <dt>{f.label}</dt>
              <dd>
                <code>{f.value}</code>
              </dd>
            </div>
          ))}
        </dl>
      )}
      {next && <p className="notice-action">{next}</p>}
    </div>
  );
}

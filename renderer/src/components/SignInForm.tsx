import { useEffect, useRef, useState, type FormEvent } from 'react';
import { call, type ErrorInfo, type FacilityInfo } from '../api';
import { errorAction } from '../error-actions';
import { ErrorNotice } from './ErrorNotice';

interface Props {
  facility: FacilityInfo;
  /** Why the person must sign in again (a refused token), shown above the form. */
  reason?: ErrorInfo;
  /** Seconds left before the hub wants to hear from us again (429). */
  waitSeconds: number;
  onSignedIn(info: FacilityInfo): void;
  onError(error: ErrorInfo): void;
}

export function SignInForm({ facility, reason, waitSeconds, onSignedIn, onError }: Props) {
  const [username, setUsername] = useState(facility.username ?? '');
  const [password, setPassword] = useState('');
  const [remember, setRemember] = useState(facility.rememberPassword);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ErrorInfo>();
  const passwordRef = useRef<HTMLInputElement>(null);
  const userRef = useRef<HTMLInputElement>(null);

  useEffect(() => {
    (facility.username ? passwordRef : userRef).current?.focus();
    // Focus moves only when another facility is shown, not on every change of its data.
  }, [facility.id]);

  const webSignIn = async () => {
    if (busy || waitSeconds > 0) return;
    setBusy(true);
    setError(undefined);
    const r = await call('signInWithWebPage', { facilityId: facility.id });
    setBusy(false);
    if (r.ok) onSignedIn(r.value);
    else if (r.error.kind !== 'cancelled') {
      setError(r.error);
      onError(r.error);
    }
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (busy || waitSeconds > 0) return;
    setBusy(true);
    setError(undefined);
    const r = await call('signIn', { facilityId: facility.id, username: username.trim(), password, remember });
    setBusy(false);
    if (r.ok) {
      setPassword('');
      onSignedIn(r.value);
      return;
    }
    setError(r.error);
    onError(r.error);
    if (errorAction(r.error).action === 'sign-in') {
      setPassword('');
      // After React has re-enabled the field.
      setTimeout(() => passwordRef.current?.focus(), 0);
    }
  };

  const errId = `signin-error-${facility.id}`;
  return (
    <section className="card signin" aria-labelledby="signin-title">
      <h2 id="signin-title">Sign in to {facility.name}</h2>
      {reason && !error && <ErrorNotice error={reason} label="Why sign in" />}
      <form onSubmit={(e) => void submit(e)} aria-describedby={error ? errId : undefined} noValidate>
        <div className="field">
          <label htmlFor="signin-user">Username</label>
          <input ref={userRef} id="signin-user" name="username" autoComplete="username" required value={username} onChange={(e) => setUsername(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="signin-password">Password</label>
          <input
            ref={passwordRef}
            id="signin-password"
            name="password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            aria-invalid={error?.kind === 'auth-failed' ? true : undefined}
            onChange={(e) => setPassword(e.target.value)}
          />
        </div>
        <div className="field checkbox">
          <input id="signin-remember" type="checkbox" checked={remember} onChange={(e) => setRemember(e.target.checked)} />
          <label htmlFor="signin-remember">Remember me (the password stays in the system keychain)</label>
        </div>
        <div className="actions">
          <button type="submit" className="primary" disabled={busy || waitSeconds > 0 || !username.trim() || !password}>
            {busy ? 'Signing in…' : waitSeconds > 0 ? `Sign in (in ${waitSeconds} s)` : 'Sign in'}
          </button>
          {!facility.via && (
            <button type="button" disabled={busy || waitSeconds > 0} onClick={() => void webSignIn()}>
              Sign in on the hub's page…
            </button>
          )}
        </div>
      </form>
      {error && (
        <div id={errId}>
          <ErrorNotice error={error} label="Sign-in error" secondsLeft={error.kind === 'hub-rate-limited' ? waitSeconds : undefined} />
        </div>
      )}
    </section>
  );
}

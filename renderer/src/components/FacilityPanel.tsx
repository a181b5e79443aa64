import type { ErrorInfo, FacilityInfo, SessionView } from '../api';
import { ClassPicker } from './ClassPicker';
import { ErrorNotice } from './ErrorNotice';
import { SignInForm } from './SignInForm';
import { SpawnProgress } from './SpawnProgress';

interface Props {
  facility: FacilityInfo;
  /** The newest session of this facility, if any. */
  session: SessionView | undefined;
  /** Set when the hub refused us and the person must sign in again. */
  signInReason: ErrorInfo | undefined;
  /** startSession refused before any session existed. */
  startError: ErrorInfo | undefined;
  waitSeconds: number;
  starting: boolean;
  onSignedIn(info: FacilityInfo): void;
  onSignInError(error: ErrorInfo): void;
  onSignOut(): void;
  onStart(classId: string): void;
  onCancel(sessionId: string): void;
  onOpen(sessionId: string): void;
  onPickClass(facilityId: string): void;
  /** Move the focus to the class picker ("Pick a bigger class"). */
  focusPicker: boolean;
  onPickerFocused(): void;
}

/** The selected facility: sign in, or pick a class and follow its start. */
export function FacilityPanel(p: Props) {
  const f = p.facility;
  const mustSignIn = !f.signedIn || p.signInReason !== undefined;
  const busy = p.starting || (p.session !== undefined && p.session.state !== 'ended');
  const blocked = p.waitSeconds > 0 ? `Try again in ${p.waitSeconds} s` : busy ? (p.starting ? 'Starting…' : 'Session open') : undefined;

  return (
    <div className="facility-panel" data-facility={f.id}>
      <header className="facility-head">
        <div>
          <h1>{f.name}</h1>
          <p className="muted">
            {f.hubOrigin}
            {f.via && ` · via ${f.via}`}
          </p>
        </div>
        {f.signedIn && (
          <div className="who">
            <span>Signed in as {f.username}</span>
            <button type="button" className="link" onClick={p.onSignOut}>
              Sign out
            </button>
          </div>
        )}
      </header>
      {mustSignIn ? (
        <SignInForm key={f.id} facility={f} reason={p.signInReason} waitSeconds={p.waitSeconds} onSignedIn={p.onSignedIn} onError={p.onSignInError} />
      ) : (
        <section className="card" aria-label="Start a server">
          <ClassPicker key={f.id} facilityId={f.id} classes={f.classes} lastClass={f.lastClass} blocked={blocked} onStart={p.onStart} focusRequest={p.focusPicker} onFocused={p.onPickerFocused} />
          {p.startError && <ErrorNotice error={p.startError} label="Start error" secondsLeft={p.startError.kind === 'hub-rate-limited' ? p.waitSeconds : undefined} />}
        </section>
      )}
      {p.session && (
        <SpawnProgress
          session={p.session}
          waitSeconds={p.waitSeconds}
          onCancel={() => p.onCancel(p.session!.sessionId)}
          onOpen={() => p.onOpen(p.session!.sessionId)}
          onPickClass={p.onPickClass}
        />
      )}
    </div>
  );
}

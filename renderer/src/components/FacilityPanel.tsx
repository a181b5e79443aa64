import { useState } from 'react';
import type { ErrorInfo, FacilityInfo, SessionView } from '../api';
import { splitLabel } from '../format';
import { ClassPicker, type RunningServer } from './ClassPicker';
import { ConfirmDialog } from './ConfirmDialog';
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
  /** Close the facility's SSH connection (the next action signs in to the gateway again). */
  onDisconnect(): void;
  /** The facility's server that runs now (this app's session on it, or what the hub reports). */
  running?: RunningServer;
  onStart(classId: string): void;
  /** Stop the running server and start this class instead (after the person confirmed). */
  onSwitch(classId: string): void;
  onCancel(sessionId: string): void;
  /** "Reconnect now" while the session waits for its next attempt. */
  onReconnect(sessionId: string): void;
  /** "Start again with the same class" after the server ended by itself. */
  onStartAgain(classId: string): void;
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
  const [confirmSwitch, setConfirmSwitch] = useState<string>();
  // On its way (signing in, stopping the previous server, spawning, connecting): nothing else can start.
  const underway = p.session !== undefined && !SETTLED.has(p.session.state);
  const blocked =
    p.waitSeconds > 0 ? `Try again in ${p.waitSeconds} s` : p.starting || underway ? (p.session?.replacing !== undefined && !p.starting ? 'Switching…' : 'Starting…') : undefined;
  const nameOf = (classId: string | undefined) => splitLabel(f.classes.find((c) => c.id === classId)?.label ?? '').name;
  const runningName = p.running?.classLabel ? splitLabel(p.running.classLabel).name : nameOf(p.running?.classId);

  return (
    <div className="facility-panel" data-facility={f.id}>
      <header className="facility-head">
        <div>
          <h1>{f.name}</h1>
          <p className="muted">
            {f.hubOrigin}
            {f.via && ` · via ${f.via}`}
          </p>
          {f.sshConnected && (
            <p className="ssh-connected muted">
              <span className="badge ok" title="Roamlab keeps this connection for a few minutes after its last use: what you do next needs no new sign-in to the gateway (no one-time code).">
                Connected to the SSH gateway
              </span>
              {/* While a session here uses it, it stays: closing it would only mean another code for the next action. */}
              {(!p.session || p.session.state === 'ended') && (
                <button type="button" className="link" onClick={p.onDisconnect}>
                  Disconnect
                </button>
              )}
            </p>
          )}
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
          <ClassPicker
            key={f.id}
            facilityId={f.id}
            classes={f.classes}
            lastClass={f.lastClass}
            blocked={blocked}
            running={underway ? undefined : p.running}
            onStart={p.onStart}
            onSwitch={setConfirmSwitch}
            focusRequest={p.focusPicker}
            onFocused={p.onPickerFocused}
          />
          {p.startError && <ErrorNotice error={p.startError} label="Start error" secondsLeft={p.startError.kind === 'hub-rate-limited' ? p.waitSeconds : undefined} />}
        </section>
      )}
      {p.session && (
        <SpawnProgress
          session={p.session}
          waitSeconds={p.waitSeconds}
          onCancel={() => p.onCancel(p.session!.sessionId)}
          onReconnect={() => p.onReconnect(p.session!.sessionId)}
          onStartAgain={() => p.onStartAgain(p.session!.classId)}
          onOpen={() => p.onOpen(p.session!.sessionId)}
          onPickClass={p.onPickClass}
        />
      )}
      {confirmSwitch && (
        <ConfirmDialog
          title={`Switch to the ${nameOf(confirmSwitch)} class?`}
          confirmLabel="Stop and switch"
          danger
          onAnswer={(yes) => {
            const classId = confirmSwitch;
            setConfirmSwitch(undefined);
            if (yes) p.onSwitch(classId);
          }}
        >
          <p>
            {`This stops your ${runningName ? `${runningName} ` : ''}server at ${f.name}, then starts a ${nameOf(confirmSwitch)} server.`}
          </p>
          <p>
            <strong>Unsaved work in open notebooks is lost; save it first.</strong> Running kernels end; saved notebooks stay in your home folder.
          </p>
        </ConfirmDialog>
      )}
    </div>
  );
}

/** States in which a session is not on its way anywhere: open, or over. */
const SETTLED: ReadonlySet<SessionView['state']> = new Set(['ready', 'degraded', 'reconnecting', 'ended']);

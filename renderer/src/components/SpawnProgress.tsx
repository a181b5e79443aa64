import type { SessionView } from '../api';
import { formatDuration, splitLabel } from '../format';
import { useNow } from '../use-now';
import { ErrorNotice } from './ErrorNotice';
import { SessionLimits } from './SessionLimits';

interface Props {
  session: SessionView;
  /** Seconds left before a rate-limited hub may be asked again. */
  waitSeconds: number;
  onCancel(): void;
  onReconnect(): void;
  onStartAgain(): void;
  onOpen(): void;
  onPickClass(facilityId: string): void;
}

const STATE_TEXT: Record<SessionView['state'], string> = {
  'signed-out': 'Starting',
  authenticating: 'Signing in to the hub',
  spawning: 'Waiting for the server',
  connecting: 'Connecting',
  ready: 'Ready',
  degraded: 'Connection trouble',
  reconnecting: 'Reconnecting',
  ended: 'Ended',
};

function active(s: SessionView): boolean {
  return s.state !== 'ready' && s.state !== 'ended' && !away(s);
}

/** The link is down and the session is bringing it back. */
function away(s: SessionView): boolean {
  return s.state === 'degraded' || s.state === 'reconnecting';
}

/** One session on its way to ready (or its end), driven by 'session' events. */
export function SpawnProgress({ session, waitSeconds, onCancel, onReconnect, onStartAgain, onOpen, onPickClass }: Props) {
  const now = useNow(1000, active(session) || away(session));
  const c = session.connection;
  const nextTry = c?.nextTryAt !== undefined ? Math.max(0, c.nextTryAt - now) : undefined;
  const waited = formatDuration(now - session.requestedAt);
  const title = `${splitLabel(session.classLabel).name}${session.serverName ? ` — ${session.serverName}` : ''}`;

  return (
    <section className="card progress" aria-labelledby="progress-title" data-state={session.state}>
      <h2 id="progress-title">
        {title} <span className="muted">at {session.facilityName}</span>
      </h2>
      {active(session) && (
        <>
          <p className="state-line">
            <strong>{session.replacing !== undefined && session.state === 'signed-out' ? `Stopping your ${session.replacing ? `${splitLabel(session.replacing).name} ` : ''}server` : STATE_TEXT[session.state]}</strong> · waiting{' '}
            <span className="waited">{waited}</span>
          </p>
          {session.progress !== undefined ? (
            <progress max={100} value={session.progress} aria-label="Start progress">
              {session.progress}%
            </progress>
          ) : (
            <progress aria-label="Start progress" />
          )}
          <p className="hub-message" aria-live="polite">
            {session.reason}
          </p>
          <div className="actions">
            <button type="button" onClick={onCancel}>
              Cancel
            </button>
          </div>
        </>
      )}
      {away(session) && (
        <div className="reconnecting" role="status" aria-label="Connection">
          <p className="state-line">
            <strong>{session.state === 'degraded' ? 'Connection lost' : 'Reconnecting'}</strong>
            {c && (
              <>
                {' '}
                · offline <span className="offline-for">{formatDuration(now - c.since)}</span>
              </>
            )}
            {nextTry !== undefined && nextTry > 0 && <> · next try in {formatDuration(nextTry)}</>}
            {c?.attempt !== undefined && nextTry === undefined && <> · trying now</>}
          </p>
          <p className="hub-message">{session.reason}</p>
          <p className="muted">Your server and its kernels keep running; the Lab window comes back where it was.</p>
          <div className="actions">
            <button type="button" className="primary" onClick={onReconnect}>
              Reconnect now
            </button>
          </div>
        </div>
      )}
      {session.state === 'ready' && (
        <>
          <p className="ready-line" role="status">
            {c?.downForMs !== undefined ? `${session.reason} — the Lab window carried on` : 'Ready — opened in its own window'}
          </p>
          {(session.metrics || session.lastLimit) && <SessionLimits session={session} onPickClass={onPickClass} />}
          <div className="actions">
            <button type="button" className="primary" onClick={onOpen}>
              Open
            </button>
          </div>
        </>
      )}
      {session.state === 'ended' &&
        (session.error ? (
          <>
            <ErrorNotice error={session.error} label="Session error" secondsLeft={session.error.kind === 'hub-rate-limited' ? waitSeconds : undefined} />
            {session.error.kind.startsWith('server-ended') && (
              <div className="actions">
                <button type="button" className="primary" onClick={onStartAgain}>
                  Start again with the same class
                </button>
              </div>
            )}
          </>
        ) : (
          <p className="muted" role="status">
            Ended: {session.reason}
          </p>
        ))}
    </section>
  );
}

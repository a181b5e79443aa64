import { useEffect, useState } from 'react';
import type { ErrorInfo, SessionView } from '../../../electron/common/ipc-contract';
import { useNow } from '../use-now';
import { call, onEvent } from './strip-api';
import { stripView } from './strip-view';

/**
 * The status strip above a Lab page: node stats (memory used / limit, CPU, cores), runtime left,
 * coloured at the thresholds, and the session's state when it is not simply ready.
 */
export function Strip() {
  // undefined: not heard yet; null: the app no longer holds this session.
  const [session, setSession] = useState<SessionView | null>();
  const [error, setError] = useState<ErrorInfo>();

  useEffect(() => {
    const off = onEvent((e) => {
      if (e.type === 'session') setSession(e.session);
    });
    void call('session', {}).then((r) => {
      // An event that came first is newer than this answer.
      if (r.ok) setSession((cur) => (cur === undefined ? r.value : cur));
      else setError(r.error);
    });
    return off;
  }, []);

  useEffect(() => {
    if (session !== undefined && !document.documentElement.dataset.ready) document.documentElement.dataset.ready = 'true';
  }, [session]);

  const counting = !!session && session.state !== 'ended' && (session.metrics?.runtimeLeftMs !== undefined || session.runtimeHours !== undefined);
  const now = useNow(1000, counting);

  const showLauncher = async (pickClass: boolean) => {
    const r = await call('showLauncher', { pickClass });
    setError(r.ok ? undefined : r.error);
  };

  if (session === undefined) {
    return (
      <div className="strip" role="region" aria-label="Session status">
        <span className="strip-title">{error ? error.message : 'Roamlab'}</span>
      </div>
    );
  }

  const v = stripView(session, now);
  const m = v.memory;
  const where = session ? `${session.facilityName}${session.serverName ? ` ${session.serverName}` : ''}` : 'this session';
  // The last warning, while what it warned about still stands.
  const limit = v.limit && (v.limit.kind === 'runtime' ? v.runtime?.level !== 'ok' : m?.level !== 'ok') ? v.limit : undefined;

  return (
    <div className={`strip${v.level ? ` level-${v.level}` : ''}`} data-level={v.level} data-state={session?.state ?? 'closed'} role="region" aria-label="Session status">
      <span className="strip-title" title={v.title}>
        {v.title}
      </span>
      {v.state && (
        <span className={`strip-state level-${v.state.level}`} role="status" data-state={v.state.name} title={v.state.reason}>
          <strong>{v.state.text}</strong> — {v.state.reason}
        </span>
      )}
      {m && (
        <span className={`strip-memory${m.level ? ` level-${m.level}` : ''}`} data-level={m.level}>
          <span className="strip-label">Memory</span> <span className="strip-value">{m.text}</span>
          {m.percent !== undefined && (
            <>
              <meter
                className={`level-${m.level}`}
                min={0}
                max={100}
                low={m.warningPercent}
                high={m.criticalPercent}
                optimum={0}
                value={Math.min(100, m.percent)}
                aria-label={`Memory used at ${where}`}
                aria-valuenow={Math.round(m.percent)}
                aria-valuetext={`${m.text} (${Math.round(m.percent)} %)`}
              />
              <span className="strip-percent">{Math.round(m.percent)} %</span>
            </>
          )}
        </span>
      )}
      {v.cpu && <span className="strip-cpu">{v.cpu}</span>}
      {v.runtime && (
        <span className={`strip-runtime level-${v.runtime.level}`} data-level={v.runtime.level}>
          {v.runtime.text}
        </span>
      )}
      {limit && (
        <span className={`strip-limit level-${limit.level}`} data-kind={limit.kind} data-level={limit.level} title={limit.body}>
          {limit.title}
        </span>
      )}
      {!m && v.notice && (
        <span className="strip-notice" title={v.notice}>
          {v.notice}
        </span>
      )}
      {error && (
        <span className="strip-error" role="alert" title={error.hint}>
          {error.message}
        </span>
      )}
      <span className="strip-actions">
        {v.offerBiggerClass && (
          <button type="button" className="primary" onClick={() => void showLauncher(true)}>
            Pick a bigger class
          </button>
        )}
        <button type="button" onClick={() => void showLauncher(false)}>
          Launcher
        </button>
      </span>
    </div>
  );
}

import type { NodeStats, SessionView } from '../api';
import { limitsView } from '../limits-view';
import { useNow } from '../use-now';

interface Props {
  session: SessionView;
  /** Offer "Pick a bigger class" for a critical memory limit. */
  onPickClass(facilityId: string): void;
  /** Show the session's one-time notice here (only one place should). */
  showNotice?: boolean;
  /** Show runtime left here (the sessions table has its own column for it). */
  showRuntime?: boolean;
}

/** Runtime left from the latest sample, counting down every second, coloured by its level. */
export function RuntimeLeft({ metrics }: { metrics: NodeStats }) {
  const now = useNow(1000);
  const r = limitsView(metrics, now).runtime;
  return r ? <span className={`limits-runtime level-${r.level}`}>{r.text}</span> : <>—</>;
}

/** Memory, CPU and runtime left of a ready session, and the latest limit it crossed. */
export function SessionLimits({ session, onPickClass, showNotice = false, showRuntime = true }: Props) {
  const m = session.metrics;
  const now = useNow(1000, showRuntime && m?.runtimeLeftMs !== undefined);
  const v = m ? limitsView(m, now) : undefined;
  const limit = session.lastLimit;
  const where = `${session.facilityName}${session.serverName ? ` ${session.serverName}` : ''}`;

  return (
    <div className={`limits${v?.level ? ` level-${v.level}` : ''}`} data-level={v?.level}>
      {v && (
        <div className="limits-numbers">
          <span className={`limits-memory${v.memory.level ? ` level-${v.memory.level}` : ''}`}>
            <span className="limits-label">Memory</span> <span className="limits-value">{v.memory.text}</span>
            {v.memory.percent !== undefined && (
              <>
                <meter
                  className={`level-${v.memory.level}`}
                  min={0}
                  max={100}
                  low={m!.memoryWarningPercent}
                  high={m!.memoryCriticalPercent}
                  optimum={0}
                  value={Math.min(100, v.memory.percent)}
                  aria-label={`Memory used at ${where}`}
                  aria-valuenow={Math.round(v.memory.percent)}
                  aria-valuetext={`${v.memory.text} (${Math.round(v.memory.percent)} %)`}
                />
                <span className="limits-percent">{Math.round(v.memory.percent)} %</span>
              </>
            )}
          </span>
          {v.cpu && <span className="limits-cpu">{v.cpu}</span>}
          {showRuntime && v.runtime && <span className={`limits-runtime level-${v.runtime.level}`}>{v.runtime.text}</span>}
        </div>
      )}
      {limit && (
        <div className={`notice limit-banner notice-${limit.level === 'critical' ? 'error' : 'warning'}`} role="alert" data-kind={limit.kind} data-level={limit.level}>
          <p className="notice-message">{limit.title}</p>
          <p className="notice-text">{limit.body}</p>
          {limit.action === 'open-class-picker' && (
            <button type="button" onClick={() => onPickClass(session.facilityId)}>
              Pick a bigger class
            </button>
          )}
        </div>
      )}
      {showNotice && session.notice && (
        <p className="limits-notice muted" role="note">
          {session.notice}
        </p>
      )}
    </div>
  );
}

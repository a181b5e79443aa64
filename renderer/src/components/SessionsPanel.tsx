import { Fragment, useState } from 'react';
import type { ErrorInfo, FacilityInfo, ServersReply, SessionView } from '../api';
import { formatDuration, formatStarted, runtimeLeftMs, splitLabel } from '../format';
import { useNow } from '../use-now';
import { ConfirmDialog } from './ConfirmDialog';
import { ErrorNotice } from './ErrorNotice';
import { limitsView } from '../limits-view';
import { RuntimeLeft, SessionLimits } from './SessionLimits';

interface Row {
  key: string;
  facilityId: string;
  facilityName: string;
  serverName: string;
  classLabel?: string;
  started?: string;
  runtimeHours?: number;
  state: string;
  sessionId?: string;
  /** This app's ready session on it, with its node stats and limits. */
  session?: SessionView;
  onHub: boolean;
}

interface Props {
  servers: ServersReply | undefined;
  sessions: SessionView[];
  facilities: FacilityInfo[];
  loading: boolean;
  stopError: ErrorInfo | undefined;
  onRefresh(): void;
  onOpen(sessionId: string): void;
  onStop(facilityId: string, serverName: string): void;
  onPickClass(facilityId: string): void;
}

/** Servers the hubs report, merged with the sessions this app holds. */
export function mergeRows(servers: ServersReply | undefined, sessions: SessionView[]): Row[] {
  const live = sessions.filter((s) => s.state !== 'ended');
  const rows: Row[] = (servers?.servers ?? []).map((s) => {
    const mine = live.find((l) => l.sessionId === s.sessionId) ?? live.find((l) => l.facilityId === s.facilityId && l.serverName === s.serverName);
    return {
      key: `${s.facilityId}/${s.serverName}`,
      facilityId: s.facilityId,
      facilityName: s.facilityName,
      serverName: s.serverName,
      classLabel: s.classLabel ?? mine?.classLabel,
      started: s.started ?? mine?.started,
      runtimeHours: s.runtimeHours ?? mine?.runtimeHours,
      // A session switching class is stopping this server first.
      state: mine ? (mine.replacing !== undefined ? 'stopping' : mine.state) : s.ready ? 'running' : s.pending ? `${s.pending} pending` : 'stopped',
      sessionId: mine?.state === 'ready' || mine?.state === 'degraded' ? mine.sessionId : undefined,
      session: mine?.state === 'ready' || mine?.state === 'degraded' ? mine : undefined,
      onHub: true,
    };
  });
  for (const l of live) {
    if (rows.some((r) => r.facilityId === l.facilityId && r.serverName === l.serverName)) continue;
    rows.push({
      key: `${l.facilityId}/${l.serverName}`,
      facilityId: l.facilityId,
      facilityName: l.facilityName,
      serverName: l.serverName,
      // While switching, the server on the hub is still the one being stopped.
      classLabel: l.replacing || l.classLabel,
      started: l.started,
      runtimeHours: l.runtimeHours,
      state: l.replacing !== undefined ? 'stopping' : l.state,
      sessionId: l.state === 'ready' ? l.sessionId : undefined,
      session: l.state === 'ready' || l.state === 'degraded' ? l : undefined,
      onHub: false,
    });
  }
  return rows;
}

export function SessionsPanel({ servers, sessions, facilities, loading, stopError, onRefresh, onOpen, onStop, onPickClass }: Props) {
  const now = useNow(30_000);
  const [stopping, setStopping] = useState<Row>();
  const rows = mergeRows(servers, sessions);
  const name = (id: string) => facilities.find((f) => f.id === id)?.name ?? id;

  return (
    <section className="card sessions" aria-labelledby="sessions-title" aria-busy={loading}>
      <div className="section-head">
        <h2 id="sessions-title">Sessions</h2>
        <button type="button" onClick={onRefresh} disabled={loading}>
          {loading ? 'Refreshing…' : 'Refresh'}
        </button>
      </div>
      {rows.length === 0 ? (
        <p className="muted">{servers ? 'No servers are running at the facilities you are signed in to.' : 'Loading…'}</p>
      ) : (
        <table className="sessions-table">
          <thead>
            <tr>
              <th scope="col">Facility</th>
              <th scope="col">Server</th>
              <th scope="col">Class</th>
              <th scope="col">Started</th>
              <th scope="col">Runtime left</th>
              <th scope="col">State</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => {
              const left = runtimeLeftMs(r.started, r.runtimeHours, now);
              const metrics = r.session?.metrics;
              const level = metrics ? limitsView(metrics, now).level : undefined;
              const details = r.session && (metrics || r.session.lastLimit || r.session.notice);
              return (
                <Fragment key={r.key}>
                <tr data-server={r.key} className={level ? `level-${level}${details ? ' has-limits' : ''}` : details ? 'has-limits' : undefined}>
                  <td>{r.facilityName}</td>
                  <td>{r.serverName || 'default'}</td>
                  <td>{r.classLabel ? splitLabel(r.classLabel).name : '—'}</td>
                  <td>{formatStarted(r.started, now)}</td>
                  <td>
                    {metrics?.runtimeLeftMs !== undefined ? (
                      <RuntimeLeft metrics={metrics} />
                    ) : left === undefined ? (
                      '—'
                    ) : left > 0 ? (
                      formatDuration(left)
                    ) : (
                      'over the limit'
                    )}
                  </td>
                  <td>
                    <span className={`state state-${r.state.replace(/\s.*/, '')}`}>{r.state}</span>
                  </td>
                  <td>
                    <div className="row-actions">
                    {r.sessionId && (
                      <button type="button" onClick={() => onOpen(r.sessionId!)}>
                        Open
                      </button>
                    )}
                    {r.onHub && (
                      <button type="button" className="danger" onClick={() => setStopping(r)} aria-label={`Stop ${r.serverName || 'default'} at ${r.facilityName}`}>
                        Stop
                      </button>
                    )}
                    </div>
                  </td>
                </tr>
                {details && (
                  <tr className={`limits-row${level ? ` level-${level}` : ''}`} data-limits-for={r.key}>
                    <td colSpan={7}>
                      <SessionLimits session={r.session!} onPickClass={onPickClass} showNotice showRuntime={false} />
                    </td>
                  </tr>
                )}
                </Fragment>
              );
            })}
          </tbody>
        </table>
      )}
      {stopError && <ErrorNotice error={stopError} label="Stop error" />}
      {servers && servers.unreachable.length > 0 && (
        <ul className="unreachable">
          {servers.unreachable.map((u) => (
            <li key={u.facilityId}>
              <strong>{name(u.facilityId)}</strong> could not be asked for its servers:
              <ErrorNotice error={u.error} label={`${name(u.facilityId)} unreachable`} compact />
            </li>
          ))}
        </ul>
      )}
      {stopping && (
        <ConfirmDialog
          title={`Stop ${stopping.serverName || 'the default server'} at ${stopping.facilityName}?`}
          confirmLabel="Stop server"
          danger
          onAnswer={(yes) => {
            const r = stopping;
            setStopping(undefined);
            if (yes) onStop(r.facilityId, r.serverName);
          }}
        >
          <p>The server is shut down at the facility. Unsaved work in its notebooks is lost.</p>
        </ConfirmDialog>
      )}
    </section>
  );
}

/**
 * What the Lab window's status strip says about its session, at time `now`: pure, over the same
 * SessionView the launcher gets, with the launcher's own limits-view.ts for the numbers, levels
 * and words — so the strip and the sessions list colour the same numbers the same way.
 */
import type { LimitNotice, SessionStateName, SessionView } from '../../../electron/common/ipc-contract';
import { formatDuration, runtimeLeftMs, splitLabel } from '../format';
import { limitsView, worstLevel, type Level, type LimitsView } from '../limits-view';

export interface StripView {
  /** "Tiny · Limits facility" (and " · analysis" for a named server). */
  title: string;
  /** Set when the session is not simply ready: what it is doing and why ("Reconnecting — the SSH gateway did not answer"). */
  state?: { name: SessionStateName; text: string; reason: string; level: Level };
  memory?: LimitsView['memory'] & { warningPercent: number; criticalPercent: number };
  cpu?: string;
  runtime?: { text: string; level: Level };
  /** Said once by the monitor, e.g. that this server does not report memory. */
  notice?: string;
  /** The last threshold crossed, as the notification said it. */
  limit?: LimitNotice;
  /** The last limit was critical memory: offer a bigger class (in the launcher). */
  offerBiggerClass: boolean;
  /** The worst of everything above, for the strip's own colour. */
  level?: Level;
}

const STATE_TEXT: Record<SessionStateName, string> = {
  'signed-out': 'Starting',
  authenticating: 'Signing in',
  spawning: 'Starting the server',
  connecting: 'Connecting',
  ready: 'Ready',
  degraded: 'Connection trouble',
  reconnecting: 'Reconnecting',
  ended: 'Ended',
};

function stateLevel(name: SessionStateName): Level {
  if (name === 'ended') return 'critical';
  if (name === 'degraded' || name === 'reconnecting') return 'warning';
  return 'ok';
}

export function stripView(s: SessionView | null, now: number): StripView {
  if (!s) {
    return {
      title: 'Roamlab',
      state: { name: 'ended', text: 'Closed', reason: 'this session is no longer open in Roamlab', level: 'critical' },
      offerBiggerClass: false,
      level: 'critical',
    };
  }
  const title = [splitLabel(s.classLabel).name, s.facilityName, s.serverName || undefined].filter(Boolean).join(' · ');
  const state = s.state === 'ready' ? undefined : { name: s.state, text: STATE_TEXT[s.state], reason: s.reason, level: stateLevel(s.state) };
  const limit = s.lastLimit;
  const offerBiggerClass = limit?.kind === 'memory' && limit.action === 'open-class-picker';

  let memory: StripView['memory'];
  let cpu: string | undefined;
  let runtime: StripView['runtime'];
  if (s.metrics) {
    const v = limitsView(s.metrics, now);
    memory = { ...v.memory, warningPercent: s.metrics.memoryWarningPercent, criticalPercent: s.metrics.memoryCriticalPercent };
    cpu = v.cpu;
    runtime = v.runtime ? { text: v.runtime.text, level: v.runtime.level } : undefined;
  }
  if (!runtime) {
    // No reading yet, or none at all (a hub without jupyter-resource-usage): runtime from the
    // server's start, coloured by the runtime warnings the core has given.
    const left = runtimeLeftMs(s.started, s.runtimeHours, now);
    if (left !== undefined) {
      const level: Level = limit?.kind === 'runtime' ? limit.level : 'ok';
      runtime = { text: left > 0 ? `${formatDuration(left)} left` : 'over the limit', level };
    }
  }
  return {
    title,
    state,
    memory,
    cpu,
    runtime,
    notice: s.notice,
    limit,
    offerBiggerClass,
    level: worstLevel(memory?.level, runtime?.level, state?.level),
  };
}

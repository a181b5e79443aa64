/**
 * How a session's node stats read and colour: pure functions, shared by the sessions panel and
 * the ready card so both say the same thing. The thresholds come with the stats (NodeStats), so
 * the launcher colours exactly where the core warns.
 */
import type { NodeStats } from '../../electron/common/ipc-contract';
import { formatDuration } from './format';

export type Level = 'ok' | 'warning' | 'critical';

const GB = 1024 ** 3;
const MB = 1024 ** 2;
const RANK: Record<Level, number> = { ok: 0, warning: 1, critical: 2 };

/** Bytes as a person reads them: GB, or MB below 1 GB. */
export function formatBytes(bytes: number): string {
  if (bytes < GB) return `${Math.round(bytes / MB)} MB`;
  const gb = bytes / GB;
  return `${gb >= 100 || Number.isInteger(gb) ? Math.round(gb) : gb.toFixed(1)} GB`;
}

/** "41.2 / 48 GB", "310 / 400 MB"; one unit when both sides share it. */
export function formatUsedOfLimit(used: number, limit: number): string {
  const u = formatBytes(used);
  const l = formatBytes(limit);
  const unit = (s: string) => s.slice(s.lastIndexOf(' ') + 1);
  return unit(u) === unit(l) ? `${u.slice(0, u.lastIndexOf(' '))} / ${l}` : `${u} / ${l}`;
}

/** Memory level by the thresholds that came with the stats; undefined when there is no limit. */
export function memoryLevel(m: NodeStats): Level | undefined {
  if (m.limitBytes <= 0 || m.memoryPercent === undefined) return undefined;
  if (m.memoryPercent >= m.memoryCriticalPercent) return 'critical';
  if (m.memoryPercent >= m.memoryWarningPercent) return 'warning';
  return 'ok';
}

/** Runtime left now: the sampled value, counted down locally since it was measured. */
export function runtimeLeftNow(m: NodeStats, now: number): number | undefined {
  if (m.runtimeLeftMs === undefined) return undefined;
  return m.runtimeLeftMs - Math.max(0, now - m.at);
}

/** Runtime level: critical at or below runtimeCriticalMs left, warning at or below runtimeWarningMs. */
export function runtimeLevel(leftMs: number | undefined, m: Pick<NodeStats, 'runtimeWarningMs' | 'runtimeCriticalMs'>): Level | undefined {
  if (leftMs === undefined) return undefined;
  if (leftMs <= m.runtimeCriticalMs) return 'critical';
  if (leftMs <= m.runtimeWarningMs) return 'warning';
  return 'ok';
}

export function worstLevel(...levels: (Level | undefined)[]): Level | undefined {
  let worst: Level | undefined;
  for (const l of levels) if (l && (!worst || RANK[l] > RANK[worst])) worst = l;
  return worst;
}

export function formatPercent(p: number): string {
  return `${p < 10 ? p.toFixed(1) : Math.round(p)} %`;
}

export interface LimitsView {
  memory: { text: string; percent?: number; level?: Level };
  cpu?: string;
  runtime?: { leftMs: number; text: string; level: Level };
  /** The worst of memory and runtime, for the row. */
  level?: Level;
}

/** Everything the launcher shows about a ready session's node, at time `now`. */
export function limitsView(m: NodeStats, now: number): LimitsView {
  const mem = memoryLevel(m);
  const memory: LimitsView['memory'] =
    mem === undefined
      ? { text: `${formatBytes(m.rssBytes)} used · memory unknown` }
      : { text: formatUsedOfLimit(m.rssBytes, m.limitBytes), percent: m.memoryPercent, level: mem };
  const cpu =
    m.cpuPercent !== undefined || m.cpuCount !== undefined
      ? [m.cpuPercent !== undefined ? `CPU ${formatPercent(m.cpuPercent)}` : 'CPU', m.cpuCount !== undefined ? `${m.cpuCount} ${m.cpuCount === 1 ? 'core' : 'cores'}` : undefined]
          .filter(Boolean)
          .join(' of ')
      : undefined;
  const leftMs = runtimeLeftNow(m, now);
  const rl = runtimeLevel(leftMs, m);
  const runtime =
    leftMs !== undefined && rl !== undefined ? { leftMs, text: leftMs > 0 ? `${formatDuration(leftMs)} left` : 'over the limit', level: rl } : undefined;
  return { memory, cpu, runtime, level: worstLevel(mem, runtime?.level) };
}

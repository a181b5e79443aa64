/**
 * The tray's tooltip: the open session nearest its limit, e.g.
 * "Roamlab — DESY NAF Large: 41.2 of 48 GB, 1 h 12 min left". Pure (no Electron), so it is
 * unit-tested.
 */
import type { NodeStats, SessionView } from '../common/ipc-contract';

const MB = 1024 ** 2;
const GB = 1024 ** 3;

function amount(bytes: number, unit: number): string {
  const v = bytes / unit;
  return unit === MB || v >= 100 || Number.isInteger(v) ? String(Math.round(v)) : v.toFixed(1);
}

/** "41.2 of 48 GB", "388 of 400 MB", "512 MB of 2 GB". */
export function usedOfLimit(used: number, limit: number): string {
  const uu = used < GB ? MB : GB;
  const lu = limit < GB ? MB : GB;
  const name = (u: number) => (u === GB ? 'GB' : 'MB');
  return uu === lu ? `${amount(used, uu)} of ${amount(limit, lu)} ${name(lu)}` : `${amount(used, uu)} ${name(uu)} of ${amount(limit, lu)} ${name(lu)}`;
}

/** "1 h 12 min", "7 min", "under a minute". */
export function shortDuration(ms: number): string {
  const m = Math.floor(Math.max(0, ms) / 60_000);
  if (m < 1) return 'under a minute';
  if (m < 60) return `${m} min`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

function runtimeLeft(m: NodeStats, now: number): number | undefined {
  return m.runtimeLeftMs === undefined ? undefined : m.runtimeLeftMs - Math.max(0, now - m.at);
}

/**
 * How near a session is to a limit, as a fraction of its critical threshold (1 = critical):
 * memory percent over the critical percent, or the critical runtime over the runtime left.
 */
export function nearness(m: NodeStats, now: number): number {
  const memory = m.memoryPercent !== undefined && m.memoryCriticalPercent > 0 ? m.memoryPercent / m.memoryCriticalPercent : 0;
  const left = runtimeLeft(m, now);
  const runtime = left === undefined ? 0 : left <= 0 ? Infinity : m.runtimeCriticalMs / left;
  return Math.max(memory, runtime);
}

export function trayTooltip(sessions: readonly SessionView[], now: number): string {
  let best: { s: SessionView; m: NodeStats; n: number } | undefined;
  for (const s of sessions) {
    if (s.state === 'ended' || !s.metrics) continue;
    const n = nearness(s.metrics, now);
    if (!best || n > best.n) best = { s, m: s.metrics, n };
  }
  if (!best) return 'Roamlab';
  const { s, m } = best;
  const parts: string[] = [];
  if (m.limitBytes > 0) parts.push(usedOfLimit(m.rssBytes, m.limitBytes));
  const left = runtimeLeft(m, now);
  if (left !== undefined) parts.push(left > 0 ? `${shortDuration(left)} left` : 'runtime over');
  const server = s.serverName ? ` (${s.serverName})` : '';
  const name = `${s.facilityName} ${s.classLabel.split(': ')[0]}${server}`;
  return parts.length ? `Roamlab — ${name}: ${parts.join(', ')}` : `Roamlab — ${name}`;
}

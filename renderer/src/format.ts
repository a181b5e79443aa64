/** Durations and times as a person reads them. */

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
  const h = Math.floor(m / 60);
  return `${h} h ${String(m % 60).padStart(2, '0')} min`;
}

export function formatStarted(iso: string | undefined, now: number): string {
  if (!iso) return '—';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '—';
  const d = new Date(t);
  const sameDay = new Date(now).toDateString() === d.toDateString();
  const time = d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  return sameDay ? time : `${d.toLocaleDateString(undefined, { day: 'numeric', month: 'short' })} ${time}`;
}

/** Time left of a class runtime limit, or undefined when there is no limit or no start time. */
export function runtimeLeftMs(started: string | undefined, runtimeHours: number | undefined, now: number): number | undefined {
  if (!started || runtimeHours === undefined) return undefined;
  const t = Date.parse(started);
  if (Number.isNaN(t)) return undefined;
  return t + runtimeHours * 3_600_000 - now;
}

export function formatGB(gb: number): string {
  return gb < 1 ? `${Math.round(gb * 1024)} MB` : `${Number.isInteger(gb) ? gb : gb.toFixed(1)} GB`;
}

/**
 * Hub forms often label a class "Medium: 4 GB, 2 cores"; the part before the colon names it,
 * the rest describes it.
 */
export function splitLabel(label: string): { name: string; detail?: string } {
  const i = label.indexOf(': ');
  return i > 0 ? { name: label.slice(0, i), detail: label.slice(i + 2) } : { name: label };
}

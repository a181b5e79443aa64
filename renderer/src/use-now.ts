import { useEffect, useState } from 'react';

/**
 * The current time, refreshed every `intervalMs` while `active`. It is also refreshed whenever
 * `active` changes, so a countdown that stops never leaves a stale time behind.
 */
export function useNow(intervalMs: number, active = true): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    setNow(Date.now());
    if (!active) return undefined;
    const t = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(t);
  }, [intervalMs, active]);
  return now;
}

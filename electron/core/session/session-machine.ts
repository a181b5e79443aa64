/**
 * One session's states, as DESIGN.md draws them. Pure: the allowed transitions and the words a
 * person reads. session.ts drives it; the UI and the CLI only mirror it.
 */
export type SessionState =
  | { name: 'signed-out'; reason: string }
  | { name: 'authenticating'; reason: string }
  | { name: 'spawning'; reason: string; progress?: number; message?: string }
  | { name: 'connecting'; reason: string }
  /** downForMs: set when the session came back from a drop ("Back — 3 s offline"). */
  | { name: 'ready'; reason: string; url: string; port: number; downForMs?: number }
  /** The link was lost (cause) at `since` (epoch ms); reconnecting starts at once. */
  | { name: 'degraded'; reason: string; cause: string; since: number }
  /** Attempt `attempt` under way (no nextTryInMs) or the next one due in nextTryInMs. */
  | { name: 'reconnecting'; reason: string; attempt: number; since: number; nextTryInMs?: number; lastError?: string }
  | { name: 'ended'; reason: string; error?: { kind: string; message: string; hint: string; details: Record<string, unknown> } };

export type StateName = SessionState['name'];

const NEXT: Record<StateName, readonly StateName[]> = {
  'signed-out': ['authenticating', 'ended'],
  authenticating: ['spawning', 'connecting', 'signed-out', 'ended'],
  spawning: ['spawning', 'connecting', 'ended'],
  connecting: ['ready', 'ended'],
  ready: ['degraded', 'reconnecting', 'ended'],
  degraded: ['reconnecting', 'ready', 'ended'],
  reconnecting: ['reconnecting', 'ready', 'ended'],
  ended: [],
};

export function canTransition(from: StateName, to: StateName): boolean {
  return NEXT[from].includes(to);
}

export class TransitionError extends Error {
  constructor(from: StateName, to: StateName) {
    super(`session cannot go from ${from} to ${to}`);
  }
}

import type { RoamlabEvent, SessionView } from '../../../electron/common/ipc-contract';

/** Every view of one session the launcher service sent, in order (the last is its state now). */
export function sessionViews(events: readonly RoamlabEvent[], sessionId: string): SessionView[] {
  return events.flatMap((e) => (e.type === 'session' && e.session.sessionId === sessionId ? [e.session] : []));
}

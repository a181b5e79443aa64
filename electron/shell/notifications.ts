/**
 * Native notifications. Used by the Lab windows now, and by the limits monitor and the
 * supervisor later (runtime and memory warnings, reconnects).
 */
import { Notification } from 'electron';
import type { RoamlabEvent } from '../common/ipc-contract';

export interface NotifyOptions {
  title: string;
  body: string;
  /** Called when the person clicks the notification. */
  onClick?: () => void;
  /** 'critical' stays on screen until dismissed (Linux; other platforms ignore it). */
  urgency?: 'normal' | 'critical' | 'low';
}

export type Notify = (o: NotifyOptions) => void;

// A notification that is garbage-collected loses its click handler (and on some platforms
// disappears), so each is held until it is clicked, closed or fails.
const live = new Set<Notification>();

/** Show a notification; does nothing where the platform has none. Text only, never a URL with a token. */
export const notify: Notify = ({ title, body, onClick, urgency }) => {
  if (!Notification.isSupported()) return;
  const n = new Notification({ title, body, ...(urgency && process.platform === 'linux' ? { urgency } : {}) });
  live.add(n);
  const release = () => live.delete(n);
  n.on('click', () => {
    release();
    onClick?.();
  });
  n.on('close', release);
  n.on('failed', release);
  n.show();
};

/** What a limit notification needs from the rest of the shell. */
export interface LimitNotifyOptions {
  notify: Notify;
  /** Focus the session's Lab window; false when it has none. */
  focusLab: (sessionId: string) => boolean;
  /** Bring the launcher forward; with a facility, on its class picker. */
  showLauncher: (pickClassFor?: string) => void;
}

/**
 * One native notification per threshold crossed (memory 80 %/95 %, runtime marks). Clicking it
 * brings the session's Lab window forward; a critical memory limit ("pick a bigger class")
 * also brings the launcher, on the facility's class picker (picking another class there
 * switches the running server, after asking).
 */
export function notifyLimit(o: LimitNotifyOptions, e: Extract<RoamlabEvent, { type: 'limit' }>): void {
  o.notify({
    title: e.limit.title,
    body: e.limit.body,
    urgency: e.limit.level === 'critical' ? 'critical' : 'normal',
    onClick: () => {
      const focused = o.focusLab(e.sessionId);
      if (e.limit.action === 'open-class-picker') o.showLauncher(e.facilityId);
      else if (!focused) o.showLauncher();
    },
  });
}

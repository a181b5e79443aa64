/**
 * Native notifications. Used by the Lab windows now, and by the limits monitor and the
 * supervisor later (runtime and memory warnings, reconnects).
 */
import { Notification } from 'electron';

export interface NotifyOptions {
  title: string;
  body: string;
  /** Called when the person clicks the notification. */
  onClick?: () => void;
}

export type Notify = (o: NotifyOptions) => void;

// A notification that is garbage-collected loses its click handler (and on some platforms
// disappears), so each is held until it is clicked, closed or fails.
const live = new Set<Notification>();

/** Show a notification; does nothing where the platform has none. Text only, never a URL with a token. */
export const notify: Notify = ({ title, body, onClick }) => {
  if (!Notification.isSupported()) return;
  const n = new Notification({ title, body });
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

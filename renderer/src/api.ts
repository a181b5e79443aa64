/**
 * Typed access to `window.roamlab`, the one bridge the preload exposes. Types only come from the
 * contract (`import type`), so nothing of zod or the core ends up in the bundle.
 */
import type {
  Channel,
  ErrorInfo,
  ReplyOf,
  RequestOf,
  Result,
  RoamlabApi,
  RoamlabEvent,
} from '../../electron/common/ipc-contract';

export type {
  BookmarkView,
  BookmarksReply,
  ClassInfo,
  ErrorInfo,
  FacilitiesReply,
  FacilityInfo,
  LimitNotice,
  NodeStats,
  ProfileProblemInfo,
  Result,
  RoamlabEvent,
  ServersReply,
  ServerView,
  SessionView,
  SessionStateName,
} from '../../electron/common/ipc-contract';

export type HostKeyPrompt = Extract<RoamlabEvent, { type: 'host-key-prompt' }>;
export type SshPrompt = Extract<RoamlabEvent, { type: 'ssh-prompt' }>;

declare global {
  interface Window {
    roamlab?: RoamlabApi;
  }
}

const bridgeLost: ErrorInfo = {
  kind: 'internal',
  message: 'The launcher window lost contact with Roamlab.',
  hint: 'Close this window and open Roamlab again.',
  details: {},
};

/** Call one channel. Never throws: a broken bridge comes back as an error Result too. */
export async function call<C extends Channel>(channel: C, request: RequestOf<C>): Promise<Result<ReplyOf<C>>> {
  const api = window.roamlab;
  if (!api) return { ok: false, error: bridgeLost };
  try {
    const fn = api[channel] as unknown as (r: RequestOf<C>) => Promise<Result<ReplyOf<C>>>;
    return await fn(request);
  } catch {
    return { ok: false, error: bridgeLost };
  }
}

/** Subscribe to events from main; returns the unsubscribe function. */
export function onEvent(listener: (event: RoamlabEvent) => void): () => void {
  return window.roamlab?.onEvent(listener) ?? (() => undefined);
}

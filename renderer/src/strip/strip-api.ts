/**
 * Typed access to `window.roamlabStrip`, the bridge the strip's own preload exposes (its session,
 * show the launcher, its events). Types only from the contract, so nothing of zod is bundled.
 */
import type {
  ErrorInfo,
  Result,
  RoamlabStripApi,
  StripChannel,
  StripEvent,
  StripReplyOf,
  StripRequestOf,
} from '../../../electron/common/ipc-contract';

declare global {
  interface Window {
    roamlabStrip?: RoamlabStripApi;
  }
}

const bridgeLost: ErrorInfo = {
  kind: 'internal',
  message: 'The status strip lost contact with Roamlab.',
  hint: 'Close this Lab window and open it again from the launcher.',
  details: {},
};

/** Call one strip channel. Never throws: a broken bridge comes back as an error Result too. */
export async function call<C extends StripChannel>(channel: C, request: StripRequestOf<C>): Promise<Result<StripReplyOf<C>>> {
  const api = window.roamlabStrip;
  if (!api) return { ok: false, error: bridgeLost };
  try {
    const fn = api[channel] as unknown as (r: StripRequestOf<C>) => Promise<Result<StripReplyOf<C>>>;
    return await fn(request);
  } catch {
    return { ok: false, error: bridgeLost };
  }
}

/** Subscribe to this strip's events; returns the unsubscribe function. */
export function onEvent(listener: (event: StripEvent) => void): () => void {
  return window.roamlabStrip?.onEvent(listener) ?? (() => undefined);
}

/**
 * Electron wiring for the navigation decisions in electron/core/policy/navigation.ts: the
 * policy decides, this file only listens and does what it says.
 */
import { shell, type WebContents } from 'electron';
import { externalHref, originOf, type NavigationDecision } from '../core/policy/navigation';

/** Hand a link to the system browser or mail client, if its scheme is one we hand out at all. */
export function openExternal(url: string): boolean {
  const href = externalHref(url);
  if (!href) return false;
  shell.openExternal(href).catch(() => undefined); /* eng-disable OPEN_EXTERNAL_JS_CHECK */ // href comes only from externalHref: http, https or mailto, parsed and re-serialised
  return true;
}

/** For logs: the origin or scheme, never the whole URL (it may carry a one-time key). */
export function describeUrl(url: string): string {
  return originOf(url) ?? `${url.split(':', 1)[0]?.slice(0, 16) ?? '?'}:`;
}

interface NavigationDetails {
  url: string;
  isMainFrame: boolean;
  preventDefault(): void;
}

/**
 * Apply a navigation policy to a webContents. will-navigate covers the main frame and
 * will-frame-navigate every frame, so the main frame is handled once; will-redirect covers
 * server-side redirects in any frame. Only a main-frame link is a place the person asked to
 * go, so only that goes to the system browser; a subframe's is simply refused.
 */
export function guardNavigation(contents: WebContents, decide: (url: string) => NavigationDecision, log: (line: string) => void): void {
  const handle = (details: NavigationDetails) => {
    const decision = decide(details.url);
    if (decision === 'allow') return;
    details.preventDefault();
    if (decision === 'open-external' && details.isMainFrame) openExternal(details.url);
    else log(`blocked navigation to ${describeUrl(details.url)}`);
  };
  contents.on('will-navigate', (details) => handle(details));
  contents.on('will-redirect', (details) => handle(details));
  contents.on('will-frame-navigate', (details) => {
    if (!details.isMainFrame) handle(details);
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
}

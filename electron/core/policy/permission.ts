/**
 * Which web permissions a JupyterLab window gets, as a pure decision. Electron grants every
 * permission silently when a session has no handler, so the shell installs both the request and
 * the check handler on every Lab partition and asks this.
 */
import { isSameOrigin } from './navigation';

/**
 * What the gateway origin may have, and why. The names are Electron's (its
 * `setPermissionRequestHandler` / `setPermissionCheckHandler` types): clipboard writes arrive as
 * 'clipboard-sanitized-write'. Everything absent — media, geolocation, display-capture,
 * openExternal, fullscreen, HID/USB/serial, 'deprecated-sync-clipboard-read'… — is refused, as
 * is every permission for any other origin.
 */
const GATEWAY_PERMISSIONS: ReadonlySet<string> = new Set([
  'clipboard-read', // JupyterLab pastes cells and text through the async clipboard API
  'clipboard-sanitized-write', // …and copies through it
  'notifications', // extensions report long-running work
]);

/** Deny by default; allow only the listed permissions, only for exactly the gateway origin. */
export function decidePermission(permission: string, requestingUrl: string, gatewayOrigin: string): boolean {
  return GATEWAY_PERMISSIONS.has(permission) && isSameOrigin(requestingUrl, gatewayOrigin);
}

/**
 * The same decision when the asking window is not known. Electron calls the check handler with
 * no webContents for some checks (notifications from workers, for one); a partition holds the
 * Lab windows of one facility, so the request is measured against each of their gateway origins.
 */
export function decidePermissionForAny(permission: string, requestingUrl: string, gatewayOrigins: Iterable<string>): boolean {
  for (const origin of gatewayOrigins) if (decidePermission(permission, requestingUrl, origin)) return true;
  return false;
}

/** The launcher window (app://roamlab) may only write to the clipboard: copy a fingerprint, an error. */
export function decideLauncherPermission(permission: string, requestingUrl: string, appOrigin: string): boolean {
  return permission === 'clipboard-sanitized-write' && isSameOrigin(requestingUrl, appOrigin);
}

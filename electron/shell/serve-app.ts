/**
 * Serves the built renderer (dist/renderer) on app://roamlab/. Which file a request may reach,
 * and the headers (a strict CSP on every response), are decided by
 * electron/core/policy/app-protocol.ts; this only registers the scheme and reads the file.
 */
import { protocol } from 'electron';
import { promises as fs } from 'node:fs';
import { APP_SCHEME, appResponseHeaders, resolveAppRequest } from '../core/policy/app-protocol';

/** Must run before the app is ready. */
export function registerAppScheme(): void {
  protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } }]);
}

/** After ready: answer app:// from `root` (the renderer's build folder). */
export function serveApp(root: string): void {
  protocol.handle(APP_SCHEME, async (request) => {
    const decision = resolveAppRequest(request.url, request.method, root);
    if ('status' in decision) {
      return new Response(decision.reason, { status: decision.status, headers: appResponseHeaders('text/plain; charset=utf-8') });
    }
    try {
      const body = await fs.readFile(decision.file);
      return new Response(request.method === 'HEAD' ? null : body, { status: 200, headers: appResponseHeaders(decision.contentType) });
    } catch {
      return new Response('not found', { status: 404, headers: appResponseHeaders('text/plain; charset=utf-8') });
    }
  });
}

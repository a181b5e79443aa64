import { readFileSync } from 'node:fs';
import type { RigHub } from '../../rig/hubs';

/** An admin call on the rig hub's REST API, for a user (`hub/api/users/NAME/…`). */
function adminApi(hub: RigHub, user: string, p: string, method = 'GET'): Promise<Response> {
  return hubApi(hub, method, `users/${user}/${p}`);
}

/** Revoke every API token of a user at the hub, as an admin or an expiry would; how many there were. */
export async function revokeAllTokens(hub: RigHub, user: string): Promise<number> {
  const { api_tokens } = (await (await adminApi(hub, user, 'tokens')).json()) as { api_tokens: { id: string }[] };
  for (const t of api_tokens) {
    const r = await adminApi(hub, user, `tokens/${t.id}`, 'DELETE');
    if (r.status !== 204) throw new Error(`revoking token ${t.id} of ${user}: HTTP ${r.status}`);
  }
  return api_tokens.length;
}

/** Spawn requests the hub has logged for a user (POST …/users/NAME/server[/NAME]). */
export function countSpawnRequests(hub: RigHub, user: string): number {
  const log = readFileSync(hub.logFile, 'utf8');
  const re = new RegExp(`\\bPOST \\S*hub/api/users/${user}/servers?(/\\S*)? `, 'g');
  return log.match(re)?.length ?? 0;
}

/** A call on the rig hub's REST API (`hub/api/PATH`) with its admin token, the body as JSON. */
export function hubApi(hub: RigHub, method: string, p: string, body?: unknown): Promise<Response> {
  return fetch(`${hub.url}hub/api/${p}`, {
    method,
    headers: { authorization: `token ${hub.adminToken}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** A user's server as the hub's REST API reports it. */
export interface RigServerModel {
  name: string;
  ready: boolean;
  pending: string | null;
  url: string;
  progress_url: string;
  user_options: Record<string, unknown>;
}

/** Poll the hub (every 250 ms) until a user's server is ready; its model. */
export async function waitServerReady(hub: RigHub, user: string, server = '', timeoutMs = 60_000): Promise<RigServerModel> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    last = await (await hubApi(hub, 'GET', `users/${user}`)).text();
    const s = (JSON.parse(last) as { servers?: Record<string, RigServerModel> }).servers?.[server];
    if (s?.ready) return s;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`server ${user}/${server} not ready in ${timeoutMs} ms: ${last}\nlog: ${hub.logFile}`);
}

/**
 * Make a file or folder in a user's running server (its contents API, as the admin): an empty
 * notebook, or a folder. Resolves with the server's answer (201 when made).
 */
export function createInServer(hub: RigHub, user: string, place: string, type: 'notebook' | 'directory'): Promise<Response> {
  const model = type === 'notebook' ? { type, format: 'json', content: { cells: [], metadata: {}, nbformat: 4, nbformat_minor: 5 } } : { type };
  const encoded = place.split('/').map(encodeURIComponent).join('/');
  return fetch(`${hub.url}user/${user}/api/contents/${encoded}`, {
    method: 'PUT',
    headers: { authorization: `token ${hub.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(model),
  });
}

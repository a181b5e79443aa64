import { readFileSync } from 'node:fs';
import type { RigHub } from '../../rig/hubs';

/** An admin call on the rig hub's REST API, for a user (`hub/api/users/NAME/…`). */
function adminApi(hub: RigHub, user: string, p: string, method = 'GET'): Promise<Response> {
  return fetch(new URL(`hub/api/users/${user}/${p}`, hub.url), { method, headers: { authorization: `token ${hub.adminToken}` } });
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

/**
 * HubClient against real JupyterHubs: 5.2 (Debian 13 chroot, JupyterLab 4) under the prefix
 * /jhub/, and 3.0 (Debian 12, classic notebook 6.4) at /. If a rig hub cannot start, beforeAll
 * throws and every test of that flavour fails: nothing here is skipped.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RoamlabError } from '../../electron/core/errors';
import { HubClient, type SpawnProgress } from '../../electron/core/hub/hub-client';
import { openDirectTransport } from '../../electron/core/transport/direct';
import type { HubTransport } from '../../electron/core/transport/transport';
import { startHub, type HubFlavor, type RigHub } from '../rig/hubs';

async function caught(p: Promise<unknown>): Promise<RoamlabError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof RoamlabError) return e;
    throw e;
  }
  throw new Error('expected a RoamlabError');
}

const cases: { flavor: HubFlavor; prefix: string; major: number; lab: boolean }[] = [
  { flavor: 'jh5', prefix: '/jhub/', major: 5, lab: true },
  { flavor: 'jh3', prefix: '/', major: 3, lab: false },
];

describe.each(cases)('HubClient against $flavor at prefix $prefix', ({ flavor, prefix, major, lab }) => {
  let hub: RigHub;
  let transport: HubTransport;
  const clients: HubClient[] = [];

  beforeAll(async () => {
    hub = await startHub({ flavor, prefix });
    transport = openDirectTransport(new URL(hub.url));
  }, 300_000);

  afterAll(async () => {
    await transport?.close();
    await hub?.stop();
  }, 60_000);

  /** A fresh client (own cookie session) signed in as `user`. */
  async function signedIn(user: string): Promise<{ client: HubClient; token: string }> {
    const client = new HubClient({ transport });
    clients.push(client);
    const token = await client.login(user, hub.password, { expiresInSeconds: 3600, note: `roamlab test ${user}` });
    return { client, token };
  }

  it('reads the hub version', async () => {
    const v = await new HubClient({ transport }).version();
    expect(v.version).toBe(hub.version);
    expect(v.major).toBe(major);
    expect(hub.url.endsWith(prefix)).toBe(true);
  });

  it('finds the hub when the profile names one of its pages or the site root instead of its base', async () => {
    const origin = new URL(hub.url).origin;
    const wrong = [`${hub.url}hub/login`, `${hub.url}user/ana/lab`, ...(prefix !== '/' ? [`${origin}/`] : [])];
    for (const url of wrong) {
      const t = openDirectTransport(new URL(url));
      try {
        const e = await caught(new HubClient({ transport: t }).version());
        expect(e.kind, `${url}: ${e.message}`).toBe('profile-invalid');
        expect(e.details).toMatchObject({ field: 'hub.url', suggested: hub.url });
        expect(e.message).toContain(`there is one at ${hub.url}`);
        expect(e.hint).toContain(`Set hub.url in the facility profile to "${hub.url}"`);
      } finally {
        await t.close();
      }
    }
    // Signing in is the first thing a person does: it says the same.
    const s = openDirectTransport(new URL(`${hub.url}hub/home`));
    try {
      const e = await caught(new HubClient({ transport: s }).login('ana', hub.password));
      expect(e.kind).toBe('profile-invalid');
      expect(e.details.suggested).toBe(hub.url);
    } finally {
      await s.close();
    }
    // A path where nothing is: the hub the site's root leads to.
    const t = openDirectTransport(new URL(`${origin}/nothing/here/`));
    try {
      const e = await caught(new HubClient({ transport: t }).version());
      expect(e.kind).toBe('profile-invalid');
      expect(e.details.suggested).toBe(hub.url);
    } finally {
      await t.close();
    }
  });

  it('signs in with the right password and the token works', async () => {
    const log: string[] = [];
    const client = new HubClient({ transport, log: (l) => log.push(l) });
    const token = await client.login('ada', hub.password, { expiresInSeconds: 3600, note: 'roamlab test ada' });
    expect(token).toMatch(/^\S{16,}$/);
    const me = await client.whoami(token);
    expect(me.name).toBe('ada');
    // The browser-style path worked as such: one cookie+XSRF token request, no fallback.
    const tokenPosts = log.filter((l) => /^POST \S+\/hub\/api\/users\/ada\/tokens /.test(l));
    expect(tokenPosts).toHaveLength(1);
    expect(tokenPosts[0]).toMatch(/→ 201$/);
    expect(log.join('\n')).not.toContain(token);
  });

  it('refuses a wrong password with auth-failed', async () => {
    const e = await caught(new HubClient({ transport }).login('ada', `${hub.password}-wrong`, { expiresInSeconds: 60 }));
    expect(e.kind).toBe('auth-failed');
    expect(e.message).toBe('The hub did not accept the username or password.');
  });

  it('calls a bad token hub-forbidden', async () => {
    const e = await caught(new HubClient({ transport }).whoami('0123456789abcdef0123456789abcdef'));
    expect(e.kind).toBe('hub-forbidden');
  });

  it('reads the spawn form', async () => {
    const { client, token } = await signedIn('fern');
    const form = await client.spawnForm(token, { acceptSpawnRisk: true });
    expect(form?.key).toBe(hub.classKey);
    expect(form?.options.map((o) => o.id)).toEqual(['tiny', 'small', 'medium', 'slow']);
    expect(form?.options[0]?.label).toMatch(/^Tiny/);
    // Reading it started nothing.
    expect(await client.server(token, 'fern')).toBeNull();
  });

  it('spawns the slow class with progress, reports the model, finds Lab or classic, refuses a second start, stops', async () => {
    const { client, token } = await signedIn('bea');
    const progress: SpawnProgress[] = [];
    const model = await client.spawn(token, 'bea', '', { [hub.classKey]: 'slow' }, { onProgress: (p) => progress.push(p) });

    const messages = progress.map((p) => p.message);
    const slot = [1, 2, 3].map((i) => messages.findIndex((m) => m.startsWith(`Waiting for a slot (${i}/3)`)));
    expect(slot.every((i) => i >= 0)).toBe(true);
    expect(slot[0]!).toBeLessThan(slot[1]!);
    expect(slot[1]!).toBeLessThan(slot[2]!);
    expect(messages.indexOf('Slot acquired, starting server')).toBeGreaterThan(slot[2]!);
    expect(model.ready).toBe(true);
    expect(model.url).toBe(`${prefix}user/bea/`);

    const s = await client.server(token, 'bea');
    expect(s).not.toBeNull();
    expect(s).toMatchObject({ name: '', ready: true, pending: null, url: `${prefix}user/bea/`, user_options: { [hub.classKey]: 'slow' } });
    expect(typeof s?.started).toBe('string');
    expect(s?.progress_url).toBe(`${prefix}hub/api/users/bea/server/progress`);

    expect(await client.labAvailable(token, model.url)).toBe(lab);

    const again = await caught(client.spawn(token, 'bea', '', { [hub.classKey]: 'tiny' }));
    expect(again.kind).toBe('hub-already-running');
    expect(again.details.hubMessage).toMatch(/already running/);
    expect((await client.server(token, 'bea'))?.ready).toBe(true);

    await client.stop(token, 'bea');
    expect(await client.server(token, 'bea')).toBeNull();
  });

  it('passes on the hub message for an unknown class', async () => {
    const { client, token } = await signedIn('cy');
    const e = await caught(client.spawn(token, 'cy', '', { [hub.classKey]: 'huge' }));
    expect(e.kind).toBe('hub-bad-request');
    expect(e.message).toContain("Unknown notebook class 'huge'");
    expect(e.details.hubMessage).toBe("Unknown notebook class 'huge'");
    expect(await client.server(token, 'cy')).toBeNull();
  });

  it('spawns and stops a named server', async () => {
    const { client, token } = await signedIn('dov');
    const model = await client.spawn(token, 'dov', 'analysis', { [hub.classKey]: 'tiny' });
    expect(model.ready).toBe(true);
    expect(model.name).toBe('analysis');
    expect(model.url).toBe(`${prefix}user/dov/analysis/`);
    expect((await client.server(token, 'dov', 'analysis'))?.ready).toBe(true);
    expect(await client.server(token, 'dov')).toBeNull();
    expect((await client.servers(token, 'dov')).map((x) => x.name)).toEqual(['analysis']);
    await client.stop(token, 'dov', 'analysis');
    expect(await client.servers(token, 'dov')).toEqual([]);
    expect(await client.server(token, 'dov', 'analysis')).toBeNull();
  });

  it('cancels a slow spawn through its AbortSignal and leaves no server behind', async () => {
    const { client, token } = await signedIn('eve');
    const ac = new AbortController();
    const seen: string[] = [];
    const p = client.spawn(token, 'eve', '', { [hub.classKey]: 'slow' }, {
      signal: ac.signal,
      onProgress: (ev) => {
        seen.push(ev.message);
        if (ev.message.startsWith('Waiting for a slot (1/3)')) ac.abort();
      },
    });
    const e = await caught(p);
    expect(e.kind).toBe('cancelled');
    expect(seen.some((m) => m.startsWith('Waiting for a slot'))).toBe(true);
    expect(await client.server(token, 'eve')).toBeNull();
    // Nothing comes back later either (no spawn finishing behind our back).
    await new Promise((r) => setTimeout(r, 8000));
    expect(await client.server(token, 'eve')).toBeNull();
  });

  it('follows a spawn already under way without requesting a second one', async () => {
    const { client, token } = await signedIn('fay');
    // Someone (the hub's web page, another laptop) has asked for the slow class.
    const started = await fetch(new URL('hub/api/users/fay/server', hub.url), {
      method: 'POST',
      headers: { authorization: `token ${hub.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ [hub.classKey]: 'slow' }),
    });
    expect([201, 202]).toContain(started.status);
    expect((await client.server(token, 'fay'))?.pending).toBe('spawn');
    const messages: string[] = [];
    const model = await client.waitForSpawn(token, 'fay', '', { onProgress: (p) => messages.push(p.message) });
    expect(model.ready).toBe(true);
    expect(model.user_options).toEqual({ [hub.classKey]: 'slow' });
    expect(messages.some((m) => m.startsWith('Waiting for a slot'))).toBe(true);
    await client.stop(token, 'fay');
  });
});

// With the hub's own default slow_spawn_timeout (10 s) a 6 s spawn is answered 201 only once the
// server is up: its progress is only visible on the event stream followed while the POST waits.
describe('HubClient on jh3 with the default slow_spawn_timeout (spawn answered 201)', () => {
  let hub: RigHub;
  let transport: HubTransport;
  beforeAll(async () => {
    hub = await startHub({ flavor: 'jh3', prefix: '/lab-hub/', slowSpawnTimeout: 10 });
    transport = openDirectTransport(new URL(hub.url));
  }, 300_000);
  afterAll(async () => {
    await transport?.close();
    await hub?.stop();
  }, 60_000);

  it('still reports the progress messages in order', async () => {
    const client = new HubClient({ transport });
    const token = await client.login('gus', hub.password, { expiresInSeconds: 600 });
    const messages: string[] = [];
    const model = await client.spawn(token, 'gus', '', { [hub.classKey]: 'slow' }, { onProgress: (p) => messages.push(p.message) });
    expect(model.ready).toBe(true);
    const slot = [1, 2, 3].map((i) => messages.findIndex((m) => m.startsWith(`Waiting for a slot (${i}/3)`)));
    expect(slot).toEqual([...slot].sort((a, b) => a - b));
    expect(slot[0]).toBeGreaterThanOrEqual(0);
    await client.stop(token, 'gus');
    expect(await client.server(token, 'gus')).toBeNull();
  });
});

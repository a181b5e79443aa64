/**
 * The rig's stand-in for jupyter-resource-usage (test/rig/metrics): on both real hubs, a spawned
 * 'tiny' server (MEM_LIMIT 400 MiB, CPU_LIMIT 1) serves GET user/NAME/api/metrics/v1 with real
 * psutil readings of its process tree; a kernel's allocation shows up in rss and turns 'warn' on
 * near the limit; with metrics: false the endpoint is 404. A hub that cannot start fails the tests.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startHub, type HubFlavor, type RigHub } from '../rig/hubs';
import { runInKernel, startKernel, serverUrl } from '../rig/kernel';
import { hubApi as api, waitServerReady } from './helpers/hub';

const MiB = 1024 * 1024;
const TINY_LIMIT = 400 * MiB; // the tiny class's mem_limit '400M' (JupyterHub's ByteSpecification: M = 2^20)

interface Metrics {
  rss: number;
  pss?: number;
  limits: {
    memory: { rss: number; pss: number; warn?: boolean };
    cpu?: { cpu: number; warn?: boolean };
    disk?: { disk: number; warn?: boolean };
  };
  cpu_percent: number;
  cpu_count: number;
  disk_used: number;
  disk_total: number;
}


async function spawnTiny(hub: RigHub, user: string, timeoutMs = 60_000): Promise<void> {
  const created = await api(hub, 'POST', `users/${user}`);
  expect(created.status, await created.text()).toBe(201);
  const spawn = await api(hub, 'POST', `users/${user}/server`, { [hub.classKey]: 'tiny' });
  expect([201, 202], await spawn.text()).toContain(spawn.status);
  await waitServerReady(hub, user, '', timeoutMs);
}

function metricsUrl(hub: RigHub, user: string): string {
  return `${serverUrl(hub.url, user)}api/metrics/v1`;
}

async function getMetrics(hub: RigHub, user: string): Promise<Metrics> {
  const res = await fetch(metricsUrl(hub, user), { headers: { Authorization: `token ${hub.adminToken}` } });
  const text = await res.text();
  expect(res.status, `GET ${metricsUrl(hub, user)}: ${text.slice(0, 300)}`).toBe(200);
  expect(res.headers.get('content-type') ?? '').toContain('application/json');
  return JSON.parse(text) as Metrics;
}

/** Poll until pred holds (rss readings settle within a second or two after an allocation). */
async function metricsUntil(
  hub: RigHub,
  user: string,
  pred: (m: Metrics) => boolean,
  timeoutMs = 10_000,
): Promise<Metrics> {
  const deadline = Date.now() + timeoutMs;
  let m = await getMetrics(hub, user);
  while (!pred(m) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 300));
    m = await getMetrics(hub, user);
  }
  return m;
}

const hubCases: { flavor: HubFlavor; prefix: string }[] = [
  { flavor: 'jh5', prefix: '/jhub/' },
  { flavor: 'jh3', prefix: '/' },
];

for (const c of hubCases) {
  describe(`rig metrics endpoint on ${c.flavor}`, () => {
    let hub: RigHub | undefined;
    const user = 'mia';
    let kernelId = '';

    beforeAll(async () => {
      // No skip: a hub that cannot start (e.g. no chroot) throws here and fails every test below.
      hub = await startHub({ flavor: c.flavor, prefix: c.prefix, tinyRuntime: 900 });
      await spawnTiny(hub, user);
    });

    afterAll(async () => {
      await hub?.stop();
    });

    function h(): RigHub {
      if (!hub) throw new Error(`${c.flavor} hub did not start`);
      return hub;
    }

    it('serves jupyter-resource-usage metrics of the server process tree', async () => {
      const m = await getMetrics(h(), user);
      console.log(`[${c.flavor}] GET ${metricsUrl(h(), user)} → ${JSON.stringify(m)}`);
      expect(m.rss).toBeGreaterThan(10 * MiB);
      expect(m.rss).toBeLessThan(TINY_LIMIT);
      expect(m.limits.memory).toEqual({ rss: TINY_LIMIT, pss: TINY_LIMIT, warn: false });
      expect(typeof m.pss).toBe('number');
      expect(m.limits.cpu?.cpu).toBe(1);
      expect(typeof m.cpu_percent).toBe('number');
      expect(m.cpu_count).toBeGreaterThanOrEqual(1);
      expect(m.disk_total).toBeGreaterThan(0);
      expect(m.disk_used).toBeGreaterThan(0);
      expect(m.disk_used).toBeLessThanOrEqual(m.disk_total);
      expect(m.limits.disk?.disk).toBe(m.disk_total);
    });

    it('requires authentication like the real handler', async () => {
      const res = await fetch(metricsUrl(h(), user), { redirect: 'manual' });
      await res.body?.cancel();
      console.log(`[${c.flavor}] unauthenticated GET → HTTP ${res.status}`);
      expect(res.status).not.toBe(200);
      expect([302, 401, 403]).toContain(res.status);
    });

    it('sees a kernel allocate memory, and warns within 10 % of MEM_LIMIT', async () => {
      const token = h().adminToken;
      kernelId = await startKernel(h().url, user, token);
      const warm = await runInKernel(h().url, user, token, 'print(6 * 7)', '', { kernelId });
      expect(warm.status).toBe('ok');
      expect(warm.stdout.trim()).toBe('42');

      const before = await getMetrics(h(), user);
      expect(before.limits.memory.warn).toBe(false);
      // ~200 MiB, but aim at ~95 % of the limit at most (the server + kernel start near 190 MiB).
      const allocMiB = Math.max(160, Math.min(200, Math.floor((TINY_LIMIT * 0.95 - before.rss) / MiB)));
      // b'\x01' * n writes every page (a zeroed bytearray might stay untouched, i.e. not resident).
      const alloc = await runInKernel(h().url, user, token, `x = b'\\x01' * (${allocMiB} * 1024 * 1024)`, '', {
        kernelId,
      });
      expect(alloc.status, JSON.stringify(alloc.error)).toBe('ok');
      const after = await metricsUntil(h(), user, (m) => m.rss - before.rss >= 150 * MiB);
      console.log(
        `[${c.flavor}] +${allocMiB} MiB: rss ${(before.rss / MiB).toFixed(1)} → ${(after.rss / MiB).toFixed(1)} MiB`,
      );
      expect(after.rss - before.rss).toBeGreaterThanOrEqual(150 * MiB);

      // Top up until rss is past 90 % of the limit, staying below the limit itself.
      const warnAt = TINY_LIMIT * 0.9;
      let m = after;
      if (m.rss <= warnAt) {
        expect(m.limits.memory.warn).toBe(false);
        const extra = Math.ceil((warnAt - m.rss) / MiB) + 12; // MiB; lands ~12 MiB past the threshold
        expect(m.rss + extra * MiB, 'room to cross 90 % without reaching the limit').toBeLessThan(TINY_LIMIT);
        const more = await runInKernel(h().url, user, token, `y = b'\\x02' * (${extra} * 1024 * 1024)`, '', {
          kernelId,
        });
        expect(more.status, JSON.stringify(more.error)).toBe('ok');
        m = await metricsUntil(h(), user, (r) => r.rss > warnAt);
      }
      console.log(`[${c.flavor}] near the limit → ${JSON.stringify(m)}`);
      expect(m.rss).toBeGreaterThan(warnAt);
      expect(m.rss).toBeLessThan(TINY_LIMIT);
      expect(m.limits.memory.warn).toBe(true);

      // Freeing it brings the warning back down.
      const freed = await runInKernel(h().url, user, token, 'del x\ny = None\nimport gc; gc.collect()', '', {
        kernelId,
      });
      expect(freed.status).toBe('ok');
      const low = await metricsUntil(h(), user, (r) => r.limits.memory.warn === false);
      expect(low.limits.memory.warn).toBe(false);
    });
  });

  describe(`rig hub ${c.flavor} with metrics: false`, () => {
    let hub: RigHub | undefined;

    beforeAll(async () => {
      hub = await startHub({ flavor: c.flavor, prefix: c.prefix, metrics: false });
      await spawnTiny(hub, 'noah');
    });

    afterAll(async () => {
      await hub?.stop();
    });

    it('answers 404 for api/metrics/v1 while the server itself works', async () => {
      if (!hub) throw new Error(`${c.flavor} hub did not start`);
      const headers = { Authorization: `token ${hub.adminToken}` };
      const status = await fetch(`${serverUrl(hub.url, 'noah')}api/status`, { headers });
      await status.body?.cancel();
      expect(status.status).toBe(200);
      const res = await fetch(metricsUrl(hub, 'noah'), { headers });
      await res.body?.cancel();
      expect(res.status).toBe(404);
    });
  });
}

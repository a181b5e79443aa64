import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHub, type RigHub } from '../rig/hubs';
import { startSshd, type RigSshd } from '../rig/sshd';
import { startKeyring, type RigKeyring } from '../rig/keyring';
import { runInKernel } from '../rig/kernel';
import { appStateStore } from '../../electron/core/state/app-state';
import { CliSession, makeHome, runCli, type JsonLine } from './helpers/cli';

// The back-channel end to end: `roamlab start --json` through sshd to JupyterHub 5.2, a kernel
// filling the Tiny class (400 MB), and a runtime limit of 75 s with marks at 45 s and 20 s left.
// The CLI must report samples, then exactly one memory warning and one critical, then the
// runtime marks in order, and when the hub ends the server, say that the runtime was reached.

const RUNTIME_S = 75;
let keyring: RigKeyring;
let sshd: RigSshd;
let hub: RigHub;

beforeAll(async () => {
  keyring = await startKeyring();
  sshd = await startSshd();
  hub = await startHub({ flavor: 'jh5', prefix: '/jhub/', tinyRuntime: RUNTIME_S });
});

afterAll(async () => {
  await hub?.stop();
  await sshd?.stop();
  await keyring?.stop();
});

describe('roamlab start --json watches memory and runtime', () => {
  it('warns once per threshold, in order, and names the runtime when the server ends', async () => {
    const home = makeHome([
      {
        schema: 1,
        id: 'lim',
        name: 'Limits facility',
        hub: { url: hub.url },
        ssh: sshd.profileSsh(),
        classes: [{ id: 'tiny', label: 'Tiny', memoryGB: 400 / 1024, cores: 1, runtimeHours: RUNTIME_S / 3600, userOptions: { profile: 'tiny' } }],
      },
    ]);
    const env = { ROAMLAB_HOME: home, ...keyring.env };
    expect((await runCli(['login', 'lim', '--user', 'lena', '--password-stdin'], env, hub.password)).code).toBe(0);
    const store = appStateStore(home);
    const state = (await store.load()).value;
    state.facilities.lim = { ...state.facilities.lim!, thresholds: { runtimeMarksMs: [45_000, 20_000] } };
    await store.save(state);

    const cli = CliSession.start(['start', 'lim', '--class', 'tiny', '--json'], env);
    try {
      await cli.waitFor((l) => l.name === 'ready', 120_000);
      const first = await cli.waitFor((l) => l.event === 'metrics', 30_000);
      expect(first).toMatchObject({ limitBytes: 400 * 1024 * 1024, limitSource: 'server' });
      expect(first.runtimeLeftMs as number).toBeLessThanOrEqual(RUNTIME_S * 1000);

      // Fill memory in three steps, each read back by the monitor before the next.
      const samplesAfter = async (n: number): Promise<JsonLine> => cli.waitFor((l) => l.event === 'metrics' && cli.lines.indexOf(l) >= n, 30_000);
      const k = await runInKernel(hub.url, 'lena', hub.adminToken, 'blocks = []', '', { timeoutMs: 60_000 });
      let kernelId = k.kernelId;
      for (const target of [0.7, 0.88, 0.97]) {
        const code = [
          'import os, psutil',
          'p = psutil.Process(os.getppid())',
          `tree = [p] + p.children(recursive=True)`,
          'used = sum(x.memory_info().rss for x in tree if x.is_running())',
          `need = int(${target} * 400 * 1024 * 1024) - used`,
          'if need > 0: blocks.append(b"\\x01" * need)',
        ].join('\n');
        const r = await runInKernel(hub.url, 'lena', hub.adminToken, code, '', { kernelId, timeoutMs: 60_000 });
        expect(r.status).toBe('ok');
        kernelId = r.kernelId;
        await samplesAfter(cli.lines.length);
        await samplesAfter(cli.lines.length);
      }
      const memory = cli.lines.filter((l) => l.event === 'limit' && l.kind === 'memory');
      expect(memory.map((l) => l.level)).toEqual(['warning', 'critical']);
      expect(String(memory[0]!.title)).toMatch(/^Memory at (8\d|9[0-4]) % — Tiny class$/);
      expect(memory[1]!.action).toBe('open-class-picker');

      // The runtime marks, then the end.
      const ended = await cli.waitFor((l) => l.name === 'ended', (RUNTIME_S + 90) * 1000);
      const runtime = cli.lines.filter((l) => l.event === 'limit' && l.kind === 'runtime');
      expect(runtime.map((l) => l.level)).toEqual(['warning', 'critical']);
      expect(String(runtime[0]!.title)).toMatch(/left/);
      expect(String(ended.reason)).toMatch(/runtime/i);
      expect(await cli.exited).toBe(4);
    } finally {
      cli.child.kill('SIGKILL');
    }
  }, 300_000);
});

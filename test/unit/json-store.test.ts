import { mkdtempSync, readFileSync, readdirSync, writeFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { appStateStore } from '../../electron/core/state/app-state';

function home(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'roamlab-state-'));
}

describe('app state store', () => {
  it('starts from defaults and keeps what was saved, private to the user', async () => {
    const h = home();
    const store = appStateStore(h);
    expect((await store.load()).value).toEqual({ version: 1, facilities: {} });
    await store.save({ version: 1, facilities: { 'desy-naf': { username: 'alice', lastClass: 'medium', rememberPassword: true } } });
    expect((await appStateStore(h).load()).value.facilities['desy-naf']?.lastClass).toBe('medium');
    expect(statSync(path.join(h, 'state.json')).mode & 0o777).toBe(0o600);
    expect(readdirSync(h).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });

  it('keeps a corrupt file aside and restores the last good copy, with a message', async () => {
    const h = home();
    const store = appStateStore(h);
    await store.save({ version: 1, facilities: { a: { username: 'alice', lastClass: 'small', rememberPassword: true } } });
    await store.save({ version: 1, facilities: { a: { username: 'alice', lastClass: 'large', rememberPassword: true } } });
    writeFileSync(path.join(h, 'state.json'), '{"version": 1, "facil');
    const loaded = await store.load();
    expect(loaded.value.facilities.a?.lastClass).toBe('small');
    expect(loaded.recovered).toMatch(/damaged.*kept as .*corrupt-.*last good copy restored/);
    const aside = readdirSync(h).find((n) => n.startsWith('state.json.corrupt-'))!;
    expect(readFileSync(path.join(h, aside), 'utf8')).toBe('{"version": 1, "facil');
    expect((await store.load()).recovered).toBeUndefined();
  });
});

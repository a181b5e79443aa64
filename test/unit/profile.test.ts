import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadProfilesDir, loadProfileFile, parseProfile } from '../../electron/core/profile/load';
import { hubBaseUrl } from '../../electron/core/profile/schema';
import { mergeClasses, numbersFromLabel } from '../../electron/core/profile/classes';
import { isRoamlabError, type RoamlabError } from '../../electron/core/errors';

const example = JSON.parse(readFileSync(path.join(__dirname, '../../docs/examples/desy-naf.json'), 'utf8')) as Record<string, unknown>;

function errorOf(fn: () => unknown): RoamlabError {
  try {
    fn();
  } catch (e) {
    if (isRoamlabError(e)) return e;
    throw e;
  }
  throw new Error('expected a RoamlabError');
}

describe('facility profiles', () => {
  it('reads the shipped DESY example with its four classes', () => {
    const p = parseProfile(example, 'desy-naf.json');
    expect(p.classes.map((c) => [c.id, c.memoryGB, c.cores, c.runtimeHours])).toEqual([
      ['default', 1.5, 1, undefined],
      ['small', 12, 1, 12],
      ['medium', 20, 2, 6],
      ['large', 48, 2, 3],
    ]);
    expect(p.ssh?.port).toBe(22);
  });

  it('keeps the hub path prefix and adds the trailing slash', () => {
    const p = parseProfile({ ...example, hub: { url: 'https://hub.example.org/jhub' } }, 'x.json');
    expect(new URL('hub/api', hubBaseUrl(p)).href).toBe('https://hub.example.org/jhub/hub/api');
  });

  it('names the file, the field and what is expected', () => {
    const bad = { ...example, classes: [{ id: 'm', label: 'M', memoryGB: 'lots', userOptions: { profile: 'm' } }] };
    const e = errorOf(() => parseProfile(bad, '/tmp/broken.json'));
    expect(e.kind).toBe('profile-invalid');
    expect(e.message).toContain('/tmp/broken.json');
    expect(e.message).toContain('classes[0].memoryGB');
    expect(e.message).toMatch(/expected number/);
    expect(e.details.field).toBe('classes[0].memoryGB');
  });

  it('says which required field is missing', () => {
    const { hub: _hub, ...noHub } = example;
    const e = errorOf(() => parseProfile(noHub, 'nohub.json'));
    expect(e.message).toMatch(/hub: is missing; expected object/);
  });

  it('refuses an empty userOptions, which would make the hub reuse the last options', () => {
    const bad = { ...example, classes: [{ id: 'm', label: 'M', userOptions: {} }] };
    expect(errorOf(() => parseProfile(bad, 'x.json')).message).toMatch(/classes\[0\]\.userOptions: expected at least one option/);
  });

  it('refuses hub URLs with credentials, queries or other schemes', () => {
    for (const url of ['ftp://hub.example.org/', 'https://u:p@hub.example.org/', 'https://hub.example.org/?token=x', 'hub.example.org']) {
      expect(errorOf(() => parseProfile({ ...example, hub: { url } }, 'x.json')).details.field).toBe('hub.url');
    }
  });

  it('reads ssh.proxyJump, and names the field and the bad hop when it is broken', () => {
    const ssh = example.ssh as Record<string, unknown>;
    expect(parseProfile({ ...example, ssh: { ...ssh, proxyJump: 'me@bastion.example.org' } }, 'x.json').ssh?.proxyJump).toBe('me@bastion.example.org');
    const e = errorOf(() => parseProfile({ ...example, ssh: { ...ssh, proxyJump: 'bastion:ssh' } }, 'x.json'));
    expect(e.details.field).toBe('ssh.proxyJump');
    expect(e.message).toMatch(/ssh\.proxyJump: .*"bastion:ssh" has no valid port/);
  });

  it('loads the good profiles of a folder and reports the broken ones by file', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'roamlab-profiles-'));
    writeFileSync(path.join(dir, 'desy.json'), JSON.stringify(example));
    writeFileSync(path.join(dir, 'broken.json'), '{ "schema": 1, "id": ');
    writeFileSync(path.join(dir, 'wrong.json'), JSON.stringify({ ...example, id: 'other', schema: 2 }));
    writeFileSync(path.join(dir, 'notes.txt'), 'ignored');
    const { profiles, problems } = await loadProfilesDir(dir);
    expect(profiles.map((p) => p.profile.id)).toEqual(['desy-naf']);
    expect(problems.map((p) => path.basename(p.file))).toEqual(['broken.json', 'wrong.json']);
    expect(problems[0]!.error.message).toMatch(/not valid JSON/);
    expect(problems[1]!.error.message).toMatch(/schema: expected the number 1/);
    await expect(loadProfileFile(path.join(dir, 'missing.json'))).rejects.toMatchObject({ kind: 'profile-not-found' });
  });
});

describe('notebook classes', () => {
  it('merges the hub form into the file classes, the file numbers winning', () => {
    const p = parseProfile(example, 'desy.json');
    const merged = mergeClasses(p.classes, {
      key: 'profile',
      options: [
        { id: 'medium', label: 'Medium: 24 GB, 4 cores, 8 h' },
        { id: 'gpu', label: 'GPU node: 64 GB, 8 cores, 2 h' },
      ],
    });
    const medium = merged.find((c) => c.id === 'medium')!;
    expect([medium.memoryGB, medium.cores, medium.runtimeHours, medium.source]).toEqual([20, 2, 6, 'both']);
    const gpu = merged.find((c) => c.id === 'gpu')!;
    expect(gpu).toMatchObject({ memoryGB: 64, cores: 8, runtimeHours: 2, source: 'hub', userOptions: { profile: 'gpu' } });
  });

  it('uses the form key the hub uses, whatever it is called', () => {
    const merged = mergeClasses([], { key: 'notebook_class', options: [{ id: 'tiny', label: 'Tiny (400 MB)' }] });
    expect(merged[0]).toMatchObject({ id: 'tiny', memoryGB: 400 / 1024, userOptions: { notebook_class: 'tiny' } });
  });

  it('reads numbers from labels only where they are there', () => {
    expect(numbersFromLabel('Large')).toEqual({});
    expect(numbersFromLabel('48 GB / 2 CPUs / 3 hours')).toEqual({ memoryGB: 48, cores: 2, runtimeHours: 3 });
    expect(numbersFromLabel('Tiny: 400 MB, 1 core, 3 min')).toEqual({ memoryGB: 400 / 1024, cores: 1, runtimeHours: 0.05 });
  });
});

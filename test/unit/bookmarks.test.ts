import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BookmarkStore } from '../../electron/core/state/bookmarks';
import { landingPath, normalizePlace, placeFromUrl } from '../../electron/core/session/place';

let home: string;
beforeEach(async () => {
  home = await fsp.mkdtemp(path.join(os.tmpdir(), 'roamlab-bm-'));
});
afterEach(async () => {
  await fsp.rm(home, { recursive: true, force: true });
});

describe('a place in the server', () => {
  it('is a clean relative path, never above the server root', () => {
    expect(normalizePlace('/beamtime//run42.ipynb')).toBe('beamtime/run42.ipynb');
    expect(normalizePlace('./a\\b/c.ipynb')).toBe('a/b/c.ipynb');
    expect(normalizePlace('a/../../etc/passwd')).toBeUndefined();
    expect(normalizePlace('/')).toBeUndefined();
  });

  it('is where the Lab lands: lab/tree/… with JupyterLab; notebooks/… or tree/… in the classic interface', () => {
    expect(landingPath('/jhub/user/ana/', true)).toBe('/jhub/user/ana/lab');
    expect(landingPath('/jhub/user/ana/beam/', true, 'run 42/α.ipynb')).toBe('/jhub/user/ana/beam/lab/tree/run%2042/%CE%B1.ipynb');
    expect(landingPath('/user/ana/', false)).toBe('/user/ana/tree');
    expect(landingPath('/user/ana/', false, 'a/x.ipynb')).toBe('/user/ana/notebooks/a/x.ipynb');
    expect(landingPath('/user/ana/', false, 'data')).toBe('/user/ana/tree/data');
  });

  it('is read back from the address the Lab page shows', () => {
    const s = '/jhub/user/ana/';
    expect(placeFromUrl('http://127.0.0.1:5000/jhub/user/ana/lab/tree/run%2042/%CE%B1.ipynb', s)).toBe('run 42/α.ipynb');
    expect(placeFromUrl('http://127.0.0.1:5000/jhub/user/ana/lab/workspaces/auto-b/tree/x.ipynb?reset', s)).toBe('x.ipynb');
    expect(placeFromUrl('http://127.0.0.1:5000/jhub/user/ana/notebooks/x.ipynb', s)).toBe('x.ipynb');
    expect(placeFromUrl('http://127.0.0.1:5000/jhub/user/ana/lab', s)).toBe('');
    expect(placeFromUrl('http://127.0.0.1:5000/jhub/user/bob/lab/tree/x.ipynb', s)).toBeUndefined();
    expect(placeFromUrl('not a url', s)).toBeUndefined();
  });
});

describe('the bookmark store', () => {
  it('keeps bookmarks across loads, newest use first, names unique whatever their case', async () => {
    const store = new BookmarkStore(home);
    const a = await store.add({ name: '  Beamtime   P11 ', facilityId: 'desy', classId: 'medium', place: '/beamtime/run42.ipynb' });
    expect(a).toMatchObject({ name: 'Beamtime P11', serverName: '', place: 'beamtime/run42.ipynb' });
    await new Promise((r) => setTimeout(r, 5));
    await store.add({ name: 'Analysis', facilityId: 'desy', classId: 'large', serverName: 'gpu' });
    await expect(store.add({ name: 'beamtime p11', facilityId: 'x', classId: 'y' })).rejects.toThrow(/exists already/);
    await expect(store.add({ name: ' ', facilityId: 'x', classId: 'y' })).rejects.toThrow(/needs a name/);
    await expect(store.add({ name: 'Up', facilityId: 'x', classId: 'y', place: '../x' })).rejects.toThrow(/not a place/);
    const again = new BookmarkStore(home);
    expect((await again.list()).bookmarks.map((b) => b.name)).toEqual(['Analysis', 'Beamtime P11']);
    await new Promise((r) => setTimeout(r, 5));
    await again.touch(a.id);
    expect((await again.list()).bookmarks.map((b) => b.name)).toEqual(['Beamtime P11', 'Analysis']);
    expect((await again.find('BEAMTIME p11')).id).toBe(a.id);
    await again.remove(a.id);
    expect((await again.list()).bookmarks.map((b) => b.name)).toEqual(['Analysis']);
    await expect(again.find('Beamtime P11')).rejects.toThrow(/no bookmark "Beamtime P11".*/);
  });

  it('a damaged file is set aside, the last good copy comes back, and the person is told', async () => {
    const store = new BookmarkStore(home);
    await store.add({ name: 'One', facilityId: 'f', classId: 'c' });
    await store.add({ name: 'Two', facilityId: 'f', classId: 'c' });
    await fsp.writeFile(store.file, '{"version": 1, "bookmarks": [ oops');
    const { bookmarks, recovered } = await new BookmarkStore(home).list();
    expect(bookmarks.map((b) => b.name)).toEqual(['One']); // the .bak from before "Two"
    expect(recovered).toMatch(/bookmarks\.json was damaged.*kept as .*corrupt.*last good copy restored/);
    const aside = (await fsp.readdir(home)).find((f) => f.startsWith('bookmarks.json.corrupt-'));
    expect(await fsp.readFile(path.join(home, aside!), 'utf8')).toContain('oops');
  });

  it('one entry broken by a hand edit costs only itself: named, left in the file, the rest work', async () => {
    const store = new BookmarkStore(home);
    await store.add({ name: 'Good', facilityId: 'f', classId: 'c' });
    const file = JSON.parse(await fsp.readFile(store.file, 'utf8')) as { bookmarks: unknown[] };
    file.bookmarks.push({ id: 'x', name: 42, facilityId: 'f' });
    await fsp.writeFile(store.file, JSON.stringify(file));
    const { bookmarks, problems } = await store.list();
    expect(bookmarks.map((b) => b.name)).toEqual(['Good']);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/Entry 2 of .*bookmarks\.json is not a bookmark \(name: .*\); it was left as it is/);
    // Adding and removing others keeps the broken entry for the person to fix.
    await store.add({ name: 'New', facilityId: 'f', classId: 'c' });
    await store.remove('Good');
    const raw = JSON.parse(await fsp.readFile(store.file, 'utf8')) as { bookmarks: { name: unknown }[] };
    expect(raw.bookmarks.map((b) => b.name)).toEqual([42, 'New']);
  });
});

import { randomUUID } from 'node:crypto';
import path from 'node:path';
import * as z from '../../common/zod';
import { RoamlabError } from '../errors';
import { normalizePlace } from '../session/place';
import { JsonStore } from './json-store';

/**
 * Bookmarks: a session to come back to — facility, notebook class, server and the place in it —
 * kept in $ROAMLAB_HOME/bookmarks.json (nothing secret; JsonStore's atomic writes, `.bak`, and a
 * damaged file moved aside, never lost). Made and listed offline: nothing here talks to a hub.
 * A bookmark whose facility profile is gone is kept and shown as such; the profile may come back.
 */
export const bookmarkSchema = z.object({
  id: z.string(),
  name: z.string(),
  facilityId: z.string(),
  classId: z.string(),
  /** '' is the default server. */
  serverName: z._default(z.string(), ''),
  /** A file or folder in the server (session/place.ts); absent: the Lab's start page. */
  place: z.optional(z.string()),
  createdAt: z.string(),
  lastUsedAt: z.optional(z.string()),
});

/**
 * The file: entries are checked one by one (list()), so one entry broken by a hand edit costs
 * only itself — it stays in the file as it is, named in a message — and the others still work.
 */
export const bookmarksFileSchema = z.object({
  version: z.literal(1),
  bookmarks: z._default(z.array(z.unknown()), []),
});

export type Bookmark = z.infer<typeof bookmarkSchema>;
export type BookmarksFile = z.infer<typeof bookmarksFileSchema>;

export interface NewBookmark {
  name: string;
  facilityId: string;
  classId: string;
  serverName?: string;
  place?: string;
}

export const BOOKMARK_NAME_MAX = 80;

export class BookmarkStore {
  private readonly store: JsonStore<BookmarksFile>;
  /** What a load found wrong with the file and mended, until list() reports it. */
  private mended: string | undefined;

  constructor(home: string) {
    this.store = new JsonStore(path.join(home, 'bookmarks.json'), bookmarksFileSchema, () => ({ version: 1, bookmarks: [] }));
  }

  get file(): string {
    return this.store.file;
  }

  /**
   * Most recently used (or made) first. `recovered` says what happened to a damaged file;
   * `problems` names entries that are not bookmarks (left in the file untouched).
   */
  async list(): Promise<{ bookmarks: Bookmark[]; recovered?: string; problems: string[] }> {
    const { bookmarks, problems } = this.valid(await this.load());
    const recovered = this.mended;
    this.mended = undefined;
    const when = (b: Bookmark) => b.lastUsedAt ?? b.createdAt;
    return { bookmarks: bookmarks.sort((a, b) => when(b).localeCompare(when(a))), problems, ...(recovered ? { recovered } : {}) };
  }

  private valid(file: BookmarksFile): { bookmarks: Bookmark[]; problems: string[] } {
    const bookmarks: Bookmark[] = [];
    const problems: string[] = [];
    file.bookmarks.forEach((raw, i) => {
      const r = bookmarkSchema.safeParse(raw);
      if (r.success) return bookmarks.push(r.data);
      const issue = r.error.issues[0];
      const field = issue?.path.length ? `${issue.path.join('.')}: ` : '';
      problems.push(
        `Entry ${i + 1} of ${this.file} is not a bookmark (${field}${issue?.message ?? 'invalid'}); it was left as it is. Fix or remove it there.`,
      );
    });
    return { bookmarks, problems };
  }

  private async load(): Promise<BookmarksFile> {
    const { value, recovered } = await this.store.load();
    if (recovered) this.mended = recovered;
    return value;
  }

  /** The bookmark with this id, or else this name (case-insensitive). */
  async find(idOrName: string): Promise<Bookmark> {
    return this.pick(await this.load(), idOrName);
  }

  private pick(file: BookmarksFile, idOrName: string): Bookmark {
    const { bookmarks } = this.valid(file);
    const b = bookmarks.find((x) => x.id === idOrName) ?? bookmarks.find((x) => x.name.toLowerCase() === idOrName.trim().toLowerCase());
    if (!b) {
      throw new RoamlabError(
        'usage',
        `There is no bookmark "${idOrName}".`,
        bookmarks.length ? `Your bookmarks: ${bookmarks.map((x) => x.name).join(', ')}.` : 'Make one first: roamlab bookmark add <facility> --class ID --name NAME.',
      );
    }
    return b;
  }

  async add(input: NewBookmark): Promise<Bookmark> {
    const name = input.name.trim().replace(/\s+/g, ' ');
    if (!name) throw new RoamlabError('usage', 'A bookmark needs a name.', 'Give it one you will recognise, e.g. "Beamtime P11".');
    if (name.length > BOOKMARK_NAME_MAX) throw new RoamlabError('usage', `A bookmark name can be at most ${BOOKMARK_NAME_MAX} characters.`, 'Use a shorter name.');
    const place = input.place === undefined || input.place.trim() === '' ? undefined : normalizePlace(input.place);
    if (input.place !== undefined && input.place.trim() !== '' && place === undefined) {
      throw new RoamlabError('usage', `"${input.place}" is not a place in the server's files.`, 'Give a path inside your home folder there, such as beamtime/run42.ipynb (no "..").');
    }
    const value = await this.load();
    if (this.valid(value).bookmarks.some((b) => b.name.toLowerCase() === name.toLowerCase())) {
      throw new RoamlabError('usage', `A bookmark named "${name}" exists already.`, 'Pick another name, or remove the old one first.');
    }
    const bookmark: Bookmark = {
      id: randomUUID(),
      name,
      facilityId: input.facilityId,
      classId: input.classId,
      serverName: input.serverName ?? '',
      ...(place ? { place } : {}),
      createdAt: new Date().toISOString(),
    };
    await this.store.save({ ...value, bookmarks: [...value.bookmarks, bookmark] });
    return bookmark;
  }

  async remove(idOrName: string): Promise<Bookmark> {
    const value = await this.load();
    const b = this.pick(value, idOrName);
    await this.store.save({ ...value, bookmarks: value.bookmarks.filter((x) => (x as { id?: unknown }).id !== b.id) });
    return b;
  }

  /** Note that it was resumed now (it moves to the top of the list). */
  async touch(id: string): Promise<void> {
    const value = await this.load();
    const at = new Date().toISOString();
    const mine = (x: unknown): x is Bookmark => bookmarkSchema.safeParse(x).success && (x as Bookmark).id === id;
    if (!value.bookmarks.some(mine)) return;
    await this.store.save({ ...value, bookmarks: value.bookmarks.map((b) => (mine(b) ? { ...b, lastUsedAt: at } : b)) });
  }
}

import { promises as fs } from 'node:fs';
import path from 'node:path';
import type * as z from '../../common/zod';

/**
 * A small versioned JSON file with atomic writes: write a temp file, fsync it, rename it over
 * the old one, fsync the folder. The previous good copy is kept as `.bak`. A file that does not
 * parse or validate is moved aside (`.corrupt-<time>`) and the last good copy is used, with a
 * message for the person; nothing they had is thrown away.
 */
export interface LoadResult<T> {
  value: T;
  /** Set when the file was broken and something was restored or defaulted. */
  recovered?: string;
}

export class JsonStore<T> {
  constructor(
    readonly file: string,
    private readonly schema: z.ZodMiniType<T>,
    private readonly defaults: () => T,
  ) {}

  async load(): Promise<LoadResult<T>> {
    const main = await this.read(this.file);
    if (main.ok) return { value: main.value };
    if (main.missing) return { value: this.defaults() };
    const aside = `${this.file}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    await fs.rename(this.file, aside).catch(() => undefined);
    const backup = await this.read(`${this.file}.bak`);
    if (backup.ok) {
      await this.save(backup.value, { keepBackup: false });
      return { value: backup.value, recovered: `${path.basename(this.file)} was damaged (${main.problem}); it was kept as ${aside} and the last good copy restored.` };
    }
    return { value: this.defaults(), recovered: `${path.basename(this.file)} was damaged (${main.problem}); it was kept as ${aside} and Roamlab started from defaults.` };
  }

  async save(value: T, opts: { keepBackup?: boolean } = {}): Promise<void> {
    const dir = path.dirname(this.file);
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    const parsed = this.schema.parse(value);
    if (opts.keepBackup !== false) await fs.copyFile(this.file, `${this.file}.bak`).catch(() => undefined);
    const tmp = `${this.file}.tmp-${process.pid}-${Date.now()}`;
    const handle = await fs.open(tmp, 'w', 0o600);
    try {
      await handle.writeFile(JSON.stringify(parsed, null, 2) + '\n');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(tmp, this.file);
    const dirHandle = await fs.open(dir, 'r').catch(() => undefined);
    if (dirHandle) {
      await dirHandle.sync().catch(() => undefined); // not every platform can fsync a folder
      await dirHandle.close();
    }
  }

  private async read(file: string): Promise<{ ok: true; value: T } | { ok: false; missing: boolean; problem: string }> {
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch (e) {
      return { ok: false, missing: (e as NodeJS.ErrnoException).code === 'ENOENT', problem: (e as Error).message };
    }
    try {
      const result = this.schema.safeParse(JSON.parse(text));
      if (result.success) return { ok: true, value: result.data };
      return { ok: false, missing: false, problem: result.error.issues[0]?.message ?? 'invalid' };
    } catch (e) {
      return { ok: false, missing: false, problem: (e as Error).message };
    }
  }
}

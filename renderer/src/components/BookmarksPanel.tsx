import { useState, type FormEvent } from 'react';
import type { BookmarksReply, BookmarkView, ErrorInfo, FacilityInfo, SessionView } from '../api';
import { ErrorNotice } from './ErrorNotice';
import { splitLabel } from '../format';

interface Props {
  reply: BookmarksReply | undefined;
  facilities: FacilityInfo[];
  /** Sessions whose Lab is open now: they can be bookmarked where their Lab window is. */
  openSessions: SessionView[];
  error: ErrorInfo | undefined;
  resuming: string | undefined;
  onResume(bookmarkId: string): void;
  onRemove(bookmarkId: string): void;
  /** Resolves with an error to show, or undefined when it was saved. */
  onAdd(request: { name: string; facilityId: string; classId: string; place?: string }): Promise<ErrorInfo | undefined>;
  onBookmarkSession(sessionId: string, name: string): Promise<ErrorInfo | undefined>;
}

/** What a bookmark opens, in words: "DESY NAF · Medium · server beamtime · analysis/run42.ipynb". */
export function describeBookmark(b: BookmarkView): string {
  return [b.facilityName ?? `${b.facilityId} (no such facility now)`, b.classLabel ? splitLabel(b.classLabel).name : b.classId, b.serverName ? `server ${b.serverName}` : undefined, b.place ?? 'start page']
    .filter(Boolean)
    .join(' · ');
}

/**
 * Bookmarks: sessions to come back to, resumed in one click. Made from an open session (where
 * its Lab is now) or from a facility's class and a file to open, which works offline too.
 */
export function BookmarksPanel(p: Props) {
  const [adding, setAdding] = useState(false);
  const [name, setName] = useState('');
  const [what, setWhat] = useState('');
  const [place, setPlace] = useState('');
  const [formError, setFormError] = useState<ErrorInfo>();
  const [saving, setSaving] = useState(false);
  const choices = [
    ...p.openSessions.map((s) => ({ value: `session:${s.sessionId}`, label: `${s.facilityName} · ${splitLabel(s.classLabel).name}${s.serverName ? ` · ${s.serverName}` : ''} — where its Lab is now` })),
    ...p.facilities.flatMap((f) => f.classes.map((c) => ({ value: `class:${f.id}:${c.id}`, label: `${f.name} · ${splitLabel(c.label).name}` }))),
  ];
  const chosen = what || choices[0]?.value || '';
  const fromSession = chosen.startsWith('session:');

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setSaving(true);
    let err: ErrorInfo | undefined;
    if (fromSession) err = await p.onBookmarkSession(chosen.slice('session:'.length), name);
    else {
      const [, facilityId = '', classId = ''] = chosen.split(':');
      err = await p.onAdd({ name, facilityId, classId, ...(place.trim() ? { place: place.trim() } : {}) });
    }
    setSaving(false);
    setFormError(err);
    if (!err) {
      setAdding(false);
      setName('');
      setPlace('');
      setWhat('');
    }
  };

  const bookmarks = p.reply?.bookmarks ?? [];
  return (
    <section className="card bookmarks" aria-labelledby="bookmarks-title">
      <div className="card-head">
        <h2 id="bookmarks-title">Bookmarks</h2>
        {!adding && (
          <button type="button" onClick={() => setAdding(true)} disabled={!choices.length}>
            Add bookmark
          </button>
        )}
      </div>
      {p.error && <ErrorNotice error={p.error} label="Bookmark error" />}
      {p.reply?.problems.map((text) => (
        <p key={text} className="notice notice-warning" role="status">
          {text}
        </p>
      ))}
      {adding && (
        <form className="bookmark-form" onSubmit={(e) => void submit(e)} aria-label="New bookmark">
          <label>
            Name
            <input value={name} onChange={(e) => setName(e.target.value)} placeholder="Beamtime P11" required maxLength={80} autoFocus />
          </label>
          <label>
            Session
            <select value={chosen} onChange={(e) => setWhat(e.target.value)}>
              {choices.map((c) => (
                <option key={c.value} value={c.value}>
                  {c.label}
                </option>
              ))}
            </select>
          </label>
          {!fromSession && (
            <label>
              File or folder to open (optional)
              <input value={place} onChange={(e) => setPlace(e.target.value)} placeholder="beamtime/run42.ipynb" />
            </label>
          )}
          {formError && <ErrorNotice error={formError} label="Could not bookmark" />}
          <div className="actions">
            <button type="submit" className="primary" disabled={saving || !name.trim()}>
              Save bookmark
            </button>
            <button type="button" onClick={() => setAdding(false)}>
              Cancel
            </button>
          </div>
        </form>
      )}
      {bookmarks.length === 0 && !adding ? (
        <p className="muted">No bookmarks yet. Bookmark a session to come back to it in one click, even one you plan while offline.</p>
      ) : (
        <ul className="bookmark-list">
          {bookmarks.map((b) => (
            <li key={b.id} data-bookmark={b.name}>
              <div>
                <strong>{b.name}</strong>
                <div className="muted">{describeBookmark(b)}</div>
              </div>
              <div className="actions">
                <button type="button" className="primary" onClick={() => p.onResume(b.id)} disabled={p.resuming === b.id || !b.facilityName} aria-label={`Resume ${b.name}`}>
                  {p.resuming === b.id ? 'Resuming…' : 'Resume'}
                </button>
                <button type="button" onClick={() => p.onRemove(b.id)} aria-label={`Remove ${b.name}`}>
                  Remove
                </button>
              </div>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

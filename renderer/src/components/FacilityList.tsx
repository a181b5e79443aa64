import { useRef, useState } from 'react';
import { call, type ErrorInfo, type FacilityInfo, type ProfileProblemInfo } from '../api';
import { ConfirmDialog } from './ConfirmDialog';
import { ErrorNotice } from './ErrorNotice';

interface Props {
  facilities: FacilityInfo[];
  problems: ProfileProblemInfo[];
  selectedId: string | undefined;
  /** Running servers per facility id, from the sessions panel's last refresh. */
  running: Record<string, number>;
  onSelect(id: string): void;
  onImported(info: FacilityInfo): void;
  onRemoved(id: string): void;
}

/** The left column: facilities, broken profiles, import and remove. */
export function FacilityList({ facilities, problems, selectedId, running, onSelect, onImported, onRemoved }: Props) {
  const fileInput = useRef<HTMLInputElement>(null);
  const [importError, setImportError] = useState<ErrorInfo>();
  const [importing, setImporting] = useState(false);
  const [removing, setRemoving] = useState<FacilityInfo>();
  const [removeError, setRemoveError] = useState<ErrorInfo>();

  const importFile = async (file: File) => {
    setImporting(true);
    setImportError(undefined);
    const content = await file.text();
    const r = await call('importFacility', { fileName: file.name, content });
    setImporting(false);
    if (r.ok) onImported(r.value);
    else setImportError(r.error);
  };

  const remove = async (f: FacilityInfo) => {
    setRemoveError(undefined);
    const r = await call('removeFacility', { facilityId: f.id });
    if (r.ok) onRemoved(f.id);
    else setRemoveError(r.error);
  };

  return (
    <nav className="facilities" aria-labelledby="facilities-title">
      <h2 id="facilities-title">Facilities</h2>
      {facilities.length === 0 && <p className="muted">No facility yet. Import the profile your facility published.</p>}
      <ul className="facility-list">
        {facilities.map((f) => {
          const n = running[f.id] ?? 0;
          return (
            <li key={f.id} className={f.id === selectedId ? 'facility selected' : 'facility'} data-facility={f.id}>
              <button type="button" className="facility-select" aria-current={f.id === selectedId ? 'true' : undefined} onClick={() => onSelect(f.id)}>
                <span className="facility-name">{f.name}</span>
                <span className="facility-meta">{f.via ? `via ${f.via}` : f.hubOrigin}</span>
                <span className="facility-meta">
                  {f.signedIn ? <span className="badge ok">Signed in as {f.username}</span> : <span className="badge">Not signed in</span>}
                  {f.sshConnected && <span className="badge ok">Connected</span>}
                  {n > 0 && <span className="badge run">{n === 1 ? '1 server running' : `${n} servers running`}</span>}
                </span>
              </button>
              <button type="button" className="link danger-link" aria-label={`Remove ${f.name}`} onClick={() => setRemoving(f)}>
                Remove
              </button>
            </li>
          );
        })}
      </ul>
      {removeError && <ErrorNotice error={removeError} label="Remove error" />}

      <div className="import">
        <input
          ref={fileInput}
          type="file"
          accept=".json,application/json"
          hidden
          aria-label="Facility profile file"
          onChange={(e) => {
            const file = e.currentTarget.files?.[0];
            e.currentTarget.value = '';
            if (file) void importFile(file);
          }}
        />
        <button type="button" disabled={importing} onClick={() => fileInput.current?.click()}>
          {importing ? 'Importing…' : 'Import profile…'}
        </button>
        {importError && <ErrorNotice error={importError} label="Import error" />}
      </div>

      {problems.length > 0 && (
        <section className="problems" aria-labelledby="problems-title">
          <h3 id="problems-title">Profiles that could not be read</h3>
          <ul>
            {problems.map((p) => (
              <li key={p.file} className="notice notice-warning" role="status">
                <p className="notice-message" title={p.file}>
                  <code>{p.file.split(/[\\/]/).pop()}</code>
                </p>
                <p className="notice-text">{p.message}</p>
                {p.hint && <p className="notice-hint">{p.hint}</p>}
              </li>
            ))}
          </ul>
        </section>
      )}

      {removing && (
        <ConfirmDialog
          title={`Remove ${removing.name}?`}
          confirmLabel="Remove"
          danger
          onAnswer={(yes) => {
            const f = removing;
            setRemoving(undefined);
            if (yes) void remove(f);
          }}
        >
          <p>Its profile, your sign-in and the stored password are removed from this computer. Servers at the facility keep running.</p>
        </ConfirmDialog>
      )}
    </nav>
  );
}

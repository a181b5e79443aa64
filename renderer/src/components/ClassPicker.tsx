import { useEffect, useRef, useState } from 'react';
import type { ClassInfo } from '../api';
import { formatGB, splitLabel } from '../format';

/** The facility's server that runs now, and whether this app holds a session on it. */
export interface RunningServer {
  classId?: string;
  classLabel?: string;
  sessionOpen: boolean;
}

interface Props {
  facilityId: string;
  classes: ClassInfo[];
  lastClass: string | undefined;
  /** Why Start is not possible now, as its label ("Starting…", "Try again in 7 s"); undefined when it is. */
  blocked: string | undefined;
  /** A server of this facility runs: picking another class switches to it (onSwitch). */
  running?: RunningServer;
  onStart(classId: string): void;
  onSwitch?(classId: string): void;
  /** Move the focus to the chosen class (then onFocused is called). */
  focusRequest?: boolean;
  onFocused?(): void;
}

function initialClass(classes: ClassInfo[], lastClass: string | undefined): string | undefined {
  return classes.find((c) => c.id === lastClass)?.id ?? classes[0]?.id;
}

/** One card per notebook class, as a radio group; Start asks for a server of the chosen class. */
export function ClassPicker({ facilityId, classes, lastClass, blocked, running, onStart, onSwitch, focusRequest = false, onFocused }: Props) {
  const [chosen, setChosen] = useState(() => initialClass(classes, running?.classId ?? lastClass));
  const selected = classes.some((c) => c.id === chosen) ? chosen : initialClass(classes, lastClass);
  const fieldset = useRef<HTMLFieldSetElement>(null);
  useEffect(() => {
    if (!focusRequest) return;
    const f = fieldset.current;
    f?.scrollIntoView({ block: 'nearest' });
    (f?.querySelector<HTMLInputElement>('input:checked') ?? f?.querySelector<HTMLInputElement>('input'))?.focus();
    onFocused?.();
  }, [focusRequest, onFocused]);

  // Another class than the running server's: Start becomes "Switch to …" (which asks first).
  const switching = running !== undefined && onSwitch !== undefined && selected !== undefined && selected !== running.classId;
  const chosenName = splitLabel(classes.find((c) => c.id === selected)?.label ?? '').name;
  const label = blocked ?? (switching ? `Switch to ${chosenName}` : running?.sessionOpen ? 'Session open' : 'Start');
  const disabled = !selected || blocked !== undefined || (!switching && running?.sessionOpen === true);

  if (classes.length === 0) {
    return <p className="muted">This facility offers no notebook classes. Ask your facility for a current profile.</p>;
  }
  return (
    <form
      className="class-picker"
      onSubmit={(e) => {
        e.preventDefault();
        if (!selected || disabled) return;
        if (switching) onSwitch(selected);
        else onStart(selected);
      }}
    >
      <fieldset ref={fieldset}>
        <legend>Notebook class</legend>
        <div className="class-cards">
          {classes.map((c) => {
            const id = `class-${facilityId}-${c.id}`;
            const { name, detail } = splitLabel(c.label);
            const numbers = [
              c.memoryGB !== undefined ? formatGB(c.memoryGB) : undefined,
              c.cores !== undefined ? `${c.cores} ${c.cores === 1 ? 'core' : 'cores'}` : undefined,
              c.runtimeHours !== undefined ? `${c.runtimeHours} h` : undefined,
            ].filter((n): n is string => n !== undefined);
            const description = c.description ?? (numbers.length === 0 ? detail : undefined);
            return (
              <div key={c.id} className="class-card">
                <input type="radio" id={id} name={`class-${facilityId}`} value={c.id} checked={selected === c.id} onChange={() => setChosen(c.id)} />
                <label htmlFor={id} title={c.label}>
                  <span className="class-label">
                    {name}
                    {c.source === 'hub' && <span className="badge">from the hub</span>}
                  </span>
                  {numbers.length > 0 && (
                    <span className="class-numbers">
                      {numbers.map((n) => (
                        <span key={n}>{n}</span>
                      ))}
                    </span>
                  )}
                  {description && <span className="class-description">{description}</span>}
                </label>
              </div>
            );
          })}
        </div>
      </fieldset>
      <div className="actions">
        {running && (
          <p className="muted running-note" role="note">
            {`Your ${running.classLabel ? `${splitLabel(running.classLabel).name} ` : ''}server is running${running.sessionOpen ? ' and open' : ''}. Pick another class to switch to it.`}
          </p>
        )}
        <button type="submit" className="primary" disabled={disabled}>
          {label}
        </button>
      </div>
    </form>
  );
}

import type { NotebookClass } from './schema';

/** What the hub's own spawn form offers (see hub/spawn-form.ts). */
export interface DiscoveredForm {
  /** The user_options key the form posts, e.g. "profile". */
  key: string;
  options: { id: string; label: string; description?: string }[];
}

export interface OfferedClass extends NotebookClass {
  /** Where the class came from: the profile file, the hub's form, or both (file numbers win). */
  source: 'profile' | 'hub' | 'both';
}

/** Best-effort numbers from a hub label such as "Medium: 20 GB, 2 cores, 6 h". */
export function numbersFromLabel(text: string): Pick<NotebookClass, 'memoryGB' | 'cores' | 'runtimeHours'> {
  const out: Pick<NotebookClass, 'memoryGB' | 'cores' | 'runtimeHours'> = {};
  const mem = /(\d+(?:\.\d+)?)\s*(G|GB|GiB|M|MB|MiB)\b/i.exec(text);
  if (mem) out.memoryGB = /^m/i.test(mem[2]!) ? Number(mem[1]) / 1024 : Number(mem[1]);
  const cores = /(\d+)\s*(?:cores?|cpus?|vcpus?)\b/i.exec(text);
  if (cores) out.cores = Number(cores[1]);
  const hours = /(\d+(?:\.\d+)?)\s*(?:h|hrs?|hours?)\b/i.exec(text);
  const minutes = /(\d+(?:\.\d+)?)\s*(?:min|mins|minutes?)\b/i.exec(text);
  if (hours) out.runtimeHours = Number(hours[1]);
  else if (minutes) out.runtimeHours = Number(minutes[1]) / 60;
  return out;
}

/**
 * The classes a person can pick: the profile's, plus what the hub's form offers. A profile class
 * and a hub option are the same class when the class's userOptions[form.key] equals the option's
 * value; the profile's numbers and label win, the hub only fills gaps.
 */
export function mergeClasses(fileClasses: NotebookClass[], form: DiscoveredForm | null): OfferedClass[] {
  const out: OfferedClass[] = fileClasses.map((c) => ({ ...c, source: 'profile' as const }));
  if (!form) return out;
  for (const opt of form.options) {
    const match = out.find((c) => c.userOptions[form.key] === opt.id);
    const guessed = numbersFromLabel(`${opt.label} ${opt.description ?? ''}`);
    if (match) {
      match.source = 'both';
      match.memoryGB ??= guessed.memoryGB;
      match.cores ??= guessed.cores;
      match.runtimeHours ??= guessed.runtimeHours;
      match.description ??= opt.description;
      continue;
    }
    // A hub option whose id collides with a file class of a different meaning gets a prefixed id.
    const id = out.some((c) => c.id === opt.id) ? `hub-${opt.id}` : opt.id;
    out.push({ id, label: opt.label, description: opt.description, ...guessed, userOptions: { [form.key]: opt.id }, source: 'hub' });
  }
  return out;
}

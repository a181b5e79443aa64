import { promises as fs } from 'node:fs';
import path from 'node:path';
import type * as z from '../../common/zod';
import { RoamlabError } from '../errors';
import { facilityProfileSchema, type FacilityProfile } from './schema';

export interface LoadedProfile {
  profile: FacilityProfile;
  file: string;
}

export interface ProfileProblem {
  file: string;
  error: RoamlabError;
}

/** Where in the profile the problem is, in the dotted form admins read: `classes[1].memoryGB`. */
function fieldPath(p: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const part of p) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out || '(top level)';
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type' && (issue as { input?: unknown }).input === undefined) {
    return `is missing; expected ${issue.expected}`;
  }
  if (issue.code === 'invalid_type') return `expected ${issue.expected}`;
  return `expected ${issue.message}`;
}

/** Validate parsed JSON as a facility profile; the error names the file, the field and what is expected. */
export function parseProfile(data: unknown, file: string): FacilityProfile {
  const result = facilityProfileSchema.safeParse(data, { reportInput: true });
  if (result.success) return result.data;
  const issues = result.error.issues;
  const first = issues[0]!;
  const lines = issues.slice(0, 5).map((i) => `  ${fieldPath(i.path)}: ${describeIssue(i)}`);
  if (issues.length > 5) lines.push(`  … and ${issues.length - 5} more`);
  throw new RoamlabError(
    'profile-invalid',
    `The facility profile ${file} is not valid:\n${lines.join('\n')}`,
    'Fix these fields (docs/facility-profile.md describes each), or ask your facility for a current profile.',
    { file, field: fieldPath(first.path) },
  );
}

/** Read and validate one profile file. */
export async function loadProfileFile(file: string): Promise<FacilityProfile> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    throw new RoamlabError('profile-not-found', `Cannot read the facility profile ${file}: ${(e as Error).message}`,
      'Check the path, or import the profile again.', { file }, { cause: e });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new RoamlabError('profile-invalid', `The facility profile ${file} is not valid JSON: ${(e as Error).message}`,
      'Fix the JSON syntax (a missing comma or quote is the usual cause), or ask your facility for a current profile.',
      { file, field: '(file)' }, { cause: e });
  }
  return parseProfile(data, file);
}

/**
 * Load every `*.json` in the facilities folder. A broken profile does not stop the others:
 * it is reported in `problems` with its file, field and expectation.
 */
export async function loadProfilesDir(dir: string): Promise<{ profiles: LoadedProfile[]; problems: ProfileProblem[] }> {
  let names: string[];
  try {
    names = (await fs.readdir(dir)).filter((n) => n.endsWith('.json')).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { profiles: [], problems: [] };
    throw e;
  }
  const profiles: LoadedProfile[] = [];
  const problems: ProfileProblem[] = [];
  const seen = new Map<string, string>();
  for (const name of names) {
    const file = path.join(dir, name);
    try {
      const profile = await loadProfileFile(file);
      const other = seen.get(profile.id);
      if (other) {
        problems.push({ file, error: new RoamlabError('profile-invalid',
          `The facility profile ${file} uses the id "${profile.id}", which ${other} already uses.`,
          'Give each facility profile its own id, or remove the older file.', { file, field: 'id' }) });
        continue;
      }
      seen.set(profile.id, file);
      profiles.push({ profile, file });
    } catch (e) {
      if (e instanceof RoamlabError) problems.push({ file, error: e });
      else throw e;
    }
  }
  return { profiles, problems };
}

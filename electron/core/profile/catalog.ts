import path from 'node:path';
import { RoamlabError } from '../errors';
import { facilitiesDir } from '../paths';
import { loadProfileFile, loadProfilesDir, type LoadedProfile, type ProfileProblem } from './load';
import type { OfferedClass } from './classes';

/** All facility profiles a person has: the folder's, plus one given on the command line. */
export class FacilityCatalog {
  private constructor(readonly profiles: LoadedProfile[], readonly problems: ProfileProblem[]) {}

  static async load(home: string, extraFile?: string): Promise<FacilityCatalog> {
    const { profiles, problems } = await loadProfilesDir(facilitiesDir(home));
    if (extraFile) {
      const file = path.resolve(extraFile);
      // A profile given explicitly must load: its error is the answer to the command.
      const profile = await loadProfileFile(file);
      const i = profiles.findIndex((p) => p.profile.id === profile.id);
      if (i >= 0) profiles.splice(i, 1);
      profiles.unshift({ profile, file });
    }
    return new FacilityCatalog(profiles, problems);
  }

  get(id: string): LoadedProfile {
    const found = this.profiles.find((p) => p.profile.id === id);
    if (found) return found;
    const broken = this.problems.find((p) => path.basename(p.file, '.json') === id);
    if (broken) throw broken.error;
    const known = this.profiles.map((p) => p.profile.id);
    throw new RoamlabError(
      'profile-not-found',
      `No facility "${id}" is set up.`,
      known.length
        ? `Known facilities: ${known.join(', ')}. To add one, copy its profile into the facilities folder or pass --facility-file PATH.`
        : 'Copy your facility\'s profile (a .json file) into the facilities folder, or pass --facility-file PATH. `npm run demo-facility` sets up a local one to try.',
    );
  }
}

export function pickClass(classes: OfferedClass[], id: string, facilityName: string): OfferedClass {
  const found = classes.find((c) => c.id === id);
  if (found) return found;
  throw new RoamlabError(
    'class-unknown',
    `${facilityName} has no notebook class "${id}".`,
    classes.length ? `Pick one of: ${classes.map((c) => c.id).join(', ')}.` : 'This facility lists no classes; ask its admins for a current profile.',
  );
}

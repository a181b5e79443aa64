import os from 'node:os';
import path from 'node:path';

/**
 * Where Roamlab keeps its files: $ROAMLAB_HOME, else the platform's app-data folder
 * (the same folder Electron's app.getPath('userData') names for an app called "Roamlab").
 */
export function roamlabHome(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (env.ROAMLAB_HOME) return path.resolve(env.ROAMLAB_HOME);
  const home = os.homedir();
  switch (platform) {
    case 'darwin':
      return path.join(home, 'Library', 'Application Support', 'Roamlab');
    case 'win32':
      return path.join(env.APPDATA ?? path.join(home, 'AppData', 'Roaming'), 'Roamlab');
    default:
      return path.join(env.XDG_CONFIG_HOME ?? path.join(home, '.config'), 'Roamlab');
  }
}

export function facilitiesDir(home: string): string {
  return path.join(home, 'facilities');
}

/** Expand a leading `~` the way a shell would, for paths in facility profiles. */
export function expandHome(p: string, home: string = os.homedir()): string {
  if (p === '~') return home;
  if (p.startsWith('~/') || p.startsWith('~\\')) return path.join(home, p.slice(2));
  return p;
}

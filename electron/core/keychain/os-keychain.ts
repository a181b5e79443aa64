import type { AsyncEntry } from '@napi-rs/keyring';
import { RoamlabError } from '../errors';
import { loadKeyring } from '../lazy-modules';
import type { Keychain } from './keychain';

export const KEYCHAIN_SERVICE = 'roamlab';

/**
 * The OS keychain through @napi-rs/keyring: macOS Keychain, Windows Credential Manager, and on
 * Linux the Secret Service (GNOME Keyring, KWallet). On Linux the store is pinned to the Secret
 * Service: the library would otherwise fall back to kernel keyutils, which forgets everything at
 * reboot — a silent loss we refuse to risk.
 */
export class OsKeychain implements Keychain {
  constructor(private readonly service: string = KEYCHAIN_SERVICE, private readonly platform: NodeJS.Platform = process.platform) {}

  private entry(account: string): AsyncEntry {
    const { AsyncEntry } = loadKeyring();
    return this.platform === 'linux'
      ? new AsyncEntry(this.service, account, { linux: { store: 'secret-service' } })
      : new AsyncEntry(this.service, account);
  }

  private unavailable(e: unknown): RoamlabError {
    const detail = e instanceof Error ? e.message : String(e);
    const linux = this.platform === 'linux';
    return new RoamlabError(
      'keychain-unavailable',
      linux
        ? `No Secret Service keychain answered on the session bus (${detail}). Roamlab keeps passwords and tokens only in the OS keychain.`
        : `The OS keychain could not be used (${detail}).`,
      linux
        ? 'Start your desktop keyring (GNOME Keyring or KWallet) and unlock it, then try again. Over SSH or in a bare session, run inside `dbus-run-session` with `gnome-keyring-daemon --unlock --components=secrets`.'
        : 'Unlock the keychain and try again.',
      {},
      { cause: e },
    );
  }

  async get(account: string): Promise<string | null> {
    try {
      return await this.entry(account).getPassword();
    } catch (e) {
      throw this.unavailable(e);
    }
  }

  async set(account: string, secret: string): Promise<void> {
    try {
      await this.entry(account).setPassword(secret);
    } catch (e) {
      throw this.unavailable(e);
    }
  }

  async delete(account: string): Promise<boolean> {
    try {
      return await this.entry(account).deleteCredential();
    } catch (e) {
      throw this.unavailable(e);
    }
  }
}

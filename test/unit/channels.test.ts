import { describe, expect, it } from 'vitest';
import { CHANNEL_NAMES, EVENT_CHANNEL as EVENT, IPC_PREFIX as PREFIX, type ChannelName } from '../../electron/common/channels';
import { CHANNELS, EVENT_CHANNEL, IPC_PREFIX, ipcChannel, requestSchemas, type Channel } from '../../electron/common/ipc-contract';

// Compile-time: the list and the contract name the same channels, both ways.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const sameNames: Same<ChannelName, Channel> = true;

describe('channels.ts (the dependency-free channel names)', () => {
  it('lists exactly the contract channels, in the contract order', () => {
    expect(sameNames).toBe(true);
    expect([...CHANNEL_NAMES]).toEqual(Object.keys(requestSchemas));
    expect(new Set(CHANNEL_NAMES).size).toBe(CHANNEL_NAMES.length);
    expect([...CHANNEL_NAMES]).toEqual(CHANNELS);
  });

  it('is where the contract takes its IPC names from', () => {
    expect(IPC_PREFIX).toBe(PREFIX);
    expect(EVENT_CHANNEL).toBe(EVENT);
    expect(ipcChannel('signIn')).toBe('roamlab:signIn');
    // The event channel never collides with a request channel.
    expect(CHANNELS.map(ipcChannel)).not.toContain(EVENT_CHANNEL);
  });
});

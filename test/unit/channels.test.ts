import { describe, expect, it } from 'vitest';
import { CHANNEL_NAMES, EVENT_CHANNEL as EVENT, IPC_PREFIX as PREFIX, STRIP_CHANNEL_NAMES, type ChannelName, type StripChannelName } from '../../electron/common/channels';
import {
  CHANNELS,
  EVENT_CHANNEL,
  IPC_PREFIX,
  STRIP_CHANNELS,
  STRIP_EVENT_CHANNEL,
  STRIP_IPC_PREFIX,
  ipcChannel,
  requestSchemas,
  stripIpcChannel,
  stripRequestSchemas,
  type Channel,
  type StripChannel,
} from '../../electron/common/ipc-contract';

// Compile-time: the list and the contract name the same channels, both ways.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const sameNames: Same<ChannelName, Channel> = true;
const sameStripNames: Same<StripChannelName, StripChannel> = true;

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

describe("the Lab window strip's channel names", () => {
  it('lists exactly the strip contract channels, in order', () => {
    expect(sameStripNames).toBe(true);
    expect([...STRIP_CHANNEL_NAMES]).toEqual(Object.keys(stripRequestSchemas));
    expect([...STRIP_CHANNEL_NAMES]).toEqual(STRIP_CHANNELS);
  });

  it('never collide with a launcher channel or event: a strip cannot reach the launcher contract, nor the other way round', () => {
    const strip = STRIP_CHANNELS.map(stripIpcChannel);
    expect(stripIpcChannel('session')).toBe('roamlab-strip:session');
    for (const name of strip) expect(name.startsWith(IPC_PREFIX)).toBe(false);
    for (const name of CHANNELS.map(ipcChannel)) expect(name.startsWith(STRIP_IPC_PREFIX)).toBe(false);
    expect([...strip, EVENT_CHANNEL]).not.toContain(STRIP_EVENT_CHANNEL);
    expect(CHANNELS.map(ipcChannel)).not.toContain(STRIP_EVENT_CHANNEL);
  });
});

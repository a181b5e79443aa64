import { describe, expect, it } from 'vitest';
import { KERNEL_V1_PROTOCOL, kernelChannel, kernelInfoRequest, replyTo, withSessionId } from '../../../electron/core/gateway/kernel-probe';
import { decode, encode } from '../../integration/helpers/kernel-ws';

describe('kernel socket paths', () => {
  it('finds the kernel and session of a channels socket under any prefix and server name', () => {
    expect(kernelChannel('/jhub/user/ann/api/kernels/k-1/channels?session_id=s1')).toEqual({ kernelId: 'k-1', sessionId: 's1' });
    expect(kernelChannel('/user/ann/gpu%20box/api/kernels/abc/channels?token=&session_id=s2')).toEqual({ kernelId: 'abc', sessionId: 's2' });
    expect(kernelChannel('/user/ann/api/kernels/abc/channels')).toEqual({ kernelId: 'abc', sessionId: '' });
    expect(kernelChannel('/user/ann/api/events/subscribe')).toBeUndefined();
    expect(kernelChannel('/user/ann/terminals/websocket/1')).toBeUndefined();
    expect(kernelChannel('/user/ann/api/kernels/abc')).toBeUndefined();
  });

  it('swaps the session_id and keeps the rest of the query', () => {
    expect(withSessionId('/u/api/kernels/k/channels?session_id=old&x=1', 'new')).toBe('/u/api/kernels/k/channels?session_id=new&x=1');
    expect(withSessionId('/u/api/kernels/k/channels', 'new')).toBe('/u/api/kernels/k/channels?session_id=new');
  });
});

describe('kernel_info probe framing', () => {
  it('frames kernel_info_request as jupyter_server reads it, in both protocols', () => {
    for (const protocol of [KERNEL_V1_PROTOCOL, '']) {
      const f = kernelInfoRequest(protocol, 'control', 'probe-1', 'roamlab-check-x');
      expect(f.binary).toBe(protocol === KERNEL_V1_PROTOCOL);
      const m = decode(protocol, Buffer.from(f.data), f.binary)!;
      expect(m.channel).toBe('control');
      expect(m.header).toMatchObject({ msg_id: 'probe-1', msg_type: 'kernel_info_request', session: 'roamlab-check-x', version: '5.3' });
      expect(m.parent_header).toEqual({});
      expect(m.content).toEqual({});
    }
  });

  it('reads the channel and parent of a reply, and nothing from anything else', () => {
    const header = { msg_id: 'r', msg_type: 'kernel_info_reply', session: 'k' };
    for (const protocol of [KERNEL_V1_PROTOCOL, '']) {
      const reply = encode(protocol, 'shell', { header, parent_header: { msg_id: 'probe-1' }, metadata: {}, content: { status: 'ok' } });
      expect(replyTo(protocol, Buffer.from(reply), typeof reply !== 'string')).toEqual({ channel: 'shell', parentId: 'probe-1' });
      const noParent = encode(protocol, 'iopub', { header, parent_header: {}, metadata: {}, content: {} });
      expect(replyTo(protocol, Buffer.from(noParent), typeof noParent !== 'string')).toBeUndefined();
    }
    // Garbage, truncated frames, offsets past the end, the other protocol's frames: passed on, never thrown.
    const v1 = encode(KERNEL_V1_PROTOCOL, 'shell', { header, parent_header: { msg_id: 'p' }, metadata: {}, content: {} }) as Buffer;
    const broken = Buffer.from(v1);
    broken.writeBigUInt64LE(BigInt(v1.length + 10), 24);
    for (const [data, binary] of [
      [Buffer.from([1, 2, 3]), true],
      [v1.subarray(0, 20), true],
      [broken, true],
      [Buffer.alloc(64, 0xff), true],
      [Buffer.from('not json'), false],
    ] as const) {
      expect(replyTo(KERNEL_V1_PROTOCOL, data, binary)).toBeUndefined();
      expect(replyTo('', data, binary)).toBeUndefined();
    }
  });
});

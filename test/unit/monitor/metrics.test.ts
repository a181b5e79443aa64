import { describe, expect, it } from 'vitest';
import { RoamlabError } from '../../../electron/core/errors';
import { BYTES_PER_GB, memoryPercent, parseMetrics, parseMetricsBody } from '../../../electron/core/monitor/metrics';

const GB = BYTES_PER_GB;
const at = 1_700_000_000_000;

// Answers as jupyter_resource_usage/api.py writes them (json.dumps of its `metrics` dict).
const withLimit = {
  rss: 41_875_931_136,
  pss: 41_000_000_000,
  limits: { memory: { rss: 48 * GB, pss: 48 * GB, warn: false }, cpu: { cpu: 2, warn: false } },
  cpu_percent: 187.4,
  cpu_count: 64,
};
const noLimit = { rss: 311_681_024, limits: { memory: { rss: 0, pss: 0 } }, cpu_percent: 0.0, cpu_count: 16 };
const minimal = { rss: 104_857_600, limits: { memory: { rss: 0, pss: 0 } } };
const newer = {
  rss: 2 * GB,
  limits: { memory: { rss: 12 * GB, pss: 12 * GB, warn: true }, disk: { disk: 500 * GB, warn: false }, gpu: { count: 0 } },
  cpu_percent: 12.5,
  cpu_count: null,
  disk_used: 120 * GB,
  disk_total: 500 * GB,
  host_usage_flag: true,
};

describe('parseMetrics', () => {
  it('reads a facility-limited answer: the server names the limit', () => {
    const s = parseMetrics(withLimit, { at, classMemoryGB: 20 });
    expect(s).toEqual({ at, rssBytes: 41_875_931_136, limitBytes: 48 * GB, limitSource: 'server', serverWarn: false, cpuPercent: 187.4, cpuCount: 64 });
    expect(memoryPercent(s)).toBeCloseTo(81.25, 1);
  });

  it('falls back to the class memory when the server reports limit 0 (no MEM_LIMIT)', () => {
    const s = parseMetrics(noLimit, { at, classMemoryGB: 0.4 });
    expect(s.limitSource).toBe('class');
    expect(s.limitBytes).toBe(Math.round(0.4 * GB));
    expect(s.serverWarn).toBe(false);
  });

  it('knows no limit when neither the server nor the class names one', () => {
    const s = parseMetrics(noLimit, { at });
    expect(s).toMatchObject({ limitBytes: 0, limitSource: 'none' });
    expect(memoryPercent(s)).toBeUndefined();
  });

  it('tolerates missing optional fields (no CPU tracking, no pss)', () => {
    const s = parseMetrics(minimal, { at, classMemoryGB: 12 });
    expect(s).toEqual({ at, rssBytes: 104_857_600, limitBytes: 12 * GB, limitSource: 'class', serverWarn: false });
    expect(parseMetrics({ rss: 5 }, { at }).limitSource).toBe('none');
  });

  it('tolerates extra fields and nulls from newer versions, and reads disk and the warn flag', () => {
    const s = parseMetrics(newer, { at });
    expect(s).toEqual({ at, rssBytes: 2 * GB, limitBytes: 12 * GB, limitSource: 'server', serverWarn: true, cpuPercent: 12.5, diskUsed: 120 * GB, diskTotal: 500 * GB });
  });

  it.each([
    ['a string rss', { rss: 'lots' }, /field rss/],
    ['no rss', { limits: { memory: { rss: 0 } } }, /field rss/],
    ['a negative rss', { rss: -1 }, /field rss/],
    ['a limit that is not a number', { rss: 1, limits: { memory: { rss: '4G' } } }, /field limits\.memory\.rss/],
    ['an array', [1, 2], /whole answer/],
    ['null', null, /whole answer/],
  ])('turns garbage (%s) into a typed error', (_name, json, field) => {
    const e = (() => {
      try {
        parseMetrics(json, { at, target: 'http://hub.example.org/jhub/user/alice/api/metrics/v1' });
      } catch (err) {
        return err;
      }
      throw new Error('expected a failure');
    })();
    expect(e).toBeInstanceOf(RoamlabError);
    expect((e as RoamlabError).kind).toBe('hub-garbage');
    expect((e as RoamlabError).message).toMatch(field);
    expect((e as RoamlabError).message).toContain('http://hub.example.org');
    expect((e as RoamlabError).message).not.toContain('/jhub/user/alice');
    expect((e as RoamlabError).hint).toMatch(/runtime is still watched/);
  });

  it('parses body text, and names an HTML page (a login portal) for what it is', () => {
    expect(parseMetricsBody(JSON.stringify(withLimit), { at }).rssBytes).toBe(41_875_931_136);
    expect(() => parseMetricsBody('<html><body>Sign in</body></html>', { at })).toThrow(/HTML page/);
    expect(() => parseMetricsBody('', { at })).toThrow(RoamlabError);
  });
});

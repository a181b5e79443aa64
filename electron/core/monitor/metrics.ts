import * as z from '../../common/zod';
import { RoamlabError } from '../errors';

/**
 * jupyter-resource-usage's `GET <server>/api/metrics/v1` (jupyter_resource_usage/api.py):
 *
 *   { "rss": 311681024, "pss": 300000000,
 *     "limits": { "memory": { "rss": 0, "pss": 0, "warn": false },
 *                 "cpu": { "cpu": 2, "warn": false }, "disk": { "disk": 1e11, "warn": false } },
 *     "cpu_percent": 12.5, "cpu_count": 16, "disk_used": 1e9, "disk_total": 1e11 }
 *
 * What the server leaves out depends on its configuration: `limits.memory.warn` only when a
 * MEM_LIMIT is set (the limit is 0 otherwise), `cpu_percent`/`cpu_count` only with
 * track_cpu_percent, `disk_*` only with track_disk_usage (newer versions), `pss` only where the
 * OS reports it. psutil's cpu_count() may be None. Unknown fields are tolerated: newer versions
 * add some.
 */
const count = z.number().check(z.nonnegative()); // z.number() takes finite numbers only

export const metricsResponseSchema = z.looseObject({
  rss: count,
  pss: z.nullish(count),
  limits: z.nullish(
    z.looseObject({
      memory: z.nullish(
        z.looseObject({
          rss: z.nullish(count),
          pss: z.nullish(count),
          warn: z.nullish(z.boolean()),
        }),
      ),
      cpu: z.nullish(z.looseObject({ cpu: z.nullish(z.number()), warn: z.nullish(z.boolean()) })),
      disk: z.nullish(z.looseObject({ disk: z.nullish(z.number()), warn: z.nullish(z.boolean()) })),
    }),
  ),
  cpu_percent: z.nullish(z.number()),
  cpu_count: z.nullish(z.int().check(z.positive())),
  disk_used: z.nullish(count),
  disk_total: z.nullish(count),
});

export type MetricsResponse = z.infer<typeof metricsResponseSchema>;

/** Where a sample's memory limit came from. */
export type LimitSource = 'server' | 'class' | 'none';

/** One reading of the notebook server's resource use, with the limit it is measured against. */
export interface MetricsSample {
  /** Local time (ms since the epoch) the answer arrived. */
  at: number;
  /** Resident memory of the server and all its children (kernels, terminals), in bytes. */
  rssBytes: number;
  /** The memory limit in bytes: the server's MEM_LIMIT, else the notebook class's memory; 0 when neither is known. */
  limitBytes: number;
  limitSource: LimitSource;
  /** The server's own "near the limit" flag (its mem_warning_threshold); false when it sets none. */
  serverWarn: boolean;
  /** Sum over the server's processes, so it may exceed 100 on several cores. Absent without track_cpu_percent. */
  cpuPercent?: number;
  cpuCount?: number;
  diskUsed?: number;
  diskTotal?: number;
}

/**
 * GB as JupyterHub and batch systems mean it in memory limits ('48G' is 48 × 2^30 bytes, which
 * is what the spawner hands the single-user server as MEM_LIMIT).
 */
export const BYTES_PER_GB = 1024 ** 3;

export interface ParseMetricsContext {
  /** Local receive time of the answer. */
  at: number;
  /** The notebook class's memory, used when the server reports no limit. */
  classMemoryGB?: number;
  /** origin + path of the request, for the error message. */
  target?: string;
}

/**
 * Turn a parsed JSON answer into a sample. Throws a RoamlabError('hub-garbage') naming the first
 * offending field when the answer is not jupyter-resource-usage's format.
 */
export function parseMetrics(json: unknown, ctx: ParseMetricsContext): MetricsSample {
  const parsed = metricsResponseSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue && issue.path.length ? issue.path.join('.') : '(the whole answer)';
    throw metricsGarbage(ctx.target, `field ${field}: ${issue?.message ?? 'unreadable'}`);
  }
  const m = parsed.data;
  const serverLimit = m.limits?.memory?.rss ?? 0;
  const classLimit = ctx.classMemoryGB !== undefined && ctx.classMemoryGB > 0 ? Math.round(ctx.classMemoryGB * BYTES_PER_GB) : 0;
  const [limitBytes, limitSource]: [number, LimitSource] =
    serverLimit > 0 ? [serverLimit, 'server'] : classLimit > 0 ? [classLimit, 'class'] : [0, 'none'];

  const sample: MetricsSample = {
    at: ctx.at,
    rssBytes: m.rss,
    limitBytes,
    limitSource,
    serverWarn: m.limits?.memory?.warn === true,
  };
  if (m.cpu_percent != null) sample.cpuPercent = m.cpu_percent;
  if (m.cpu_count != null) sample.cpuCount = m.cpu_count;
  if (m.disk_used != null) sample.diskUsed = m.disk_used;
  if (m.disk_total != null) sample.diskTotal = m.disk_total;
  return sample;
}

/** Parse the body text of a metrics answer (JSON), then the sample. */
export function parseMetricsBody(body: string, ctx: ParseMetricsContext): MetricsSample {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw metricsGarbage(ctx.target, body.trim().startsWith('<') ? 'an HTML page, not JSON' : 'not JSON');
  }
  return parseMetrics(json, ctx);
}

/** Memory use as a percentage of the limit; undefined when no limit is known. */
export function memoryPercent(s: Pick<MetricsSample, 'rssBytes' | 'limitBytes'>): number | undefined {
  return s.limitBytes > 0 ? (s.rssBytes / s.limitBytes) * 100 : undefined;
}

function metricsGarbage(target: string | undefined, why: string): RoamlabError {
  const where = target ? safeOrigin(target) : 'the notebook server';
  return new RoamlabError(
    'hub-garbage',
    `The notebook server at ${where} answered the memory query in an unknown format (${why}).`,
    'Memory use cannot be shown for this server; the runtime is still watched. Tell the facility if this keeps happening.',
    target ? { target } : {},
  );
}

function safeOrigin(target: string): string {
  try {
    return new URL(target).origin;
  } catch {
    return 'the notebook server';
  }
}

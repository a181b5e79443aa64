import * as z from '../../common/zod';
import { parseProxyJump } from './proxy-jump';

/**
 * The facility profile: the contract with facility admins. `schema: 1` is frozen — new optional
 * fields may be added, nothing may become required, so a profile published today is read by every
 * later Roamlab. Unknown fields are kept out of the parsed value but do not fail validation, so an
 * admin can publish fields for newer Roamlab versions.
 */

const hostname = z.string().check(
  z.minLength(1, 'a host name such as "gate.example.org"'),
  z.regex(/^[A-Za-z0-9._:\-[\]]+$/, 'a host name or address, without scheme or path'),
);

export const notebookClassSchema = z.object({
  id: z.string().check(z.minLength(1, 'a short id such as "medium"'), z.regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, ".", "_" or "-"')),
  label: z.string().check(z.minLength(1, 'a label people read, such as "Medium"')),
  description: z.optional(z.string()),
  memoryGB: z.optional(z.number().check(z.positive('memory in GB, a positive number'))),
  // z.int() as a check, not as the schema: its message is for a fractional number only; a
  // non-number keeps zod's "expected number", a negative one zod's "Too small".
  cores: z.optional(z.number().check(z.int('a whole number of cores'), z.positive())),
  runtimeHours: z.optional(z.number().check(z.positive('runtime in hours, a positive number'))),
  /** Sent to the hub as the spawn's user_options. Keys are whatever the facility's spawner reads. */
  userOptions: z.record(z.string(), z.unknown()).check(
    z.refine((o) => Object.keys(o).length > 0, {
      message: 'at least one option the hub reads, e.g. {"profile": "medium"}: an empty set makes the hub reuse the last options',
    }),
  ),
});

export const sshSchema = z.object({
  host: hostname,
  port: z._default(z.int().check(z.minimum(1), z.maximum(65535)), 22),
  /** Left out: the person's ssh configuration's User for the host, else their hub user name (transport/open.ts resolveSshAccount). */
  user: z.optional(z.string().check(z.minLength(1, 'the user name on the SSH gateway'))),
  /** Left out: the person's ssh configuration's IdentityFile for the host, else ~/.ssh/id_ed25519. */
  identityFile: z.optional(z.string().check(z.minLength(1))),
  knownHostsFile: z._default(z.string().check(z.minLength(1)), '~/.ssh/known_hosts'),
  /** Jump hosts before the gateway, as OpenSSH's ProxyJump (`ssh -J`) takes them (proxy-jump.ts). */
  proxyJump: z.optional(
    z.string().check(
      z.superRefine((value, ctx) => {
        try {
          parseProxyJump(value);
        } catch (e) {
          ctx.addIssue({ code: 'custom', message: `jump hosts as ssh -J takes them, "[user@]host[:port]", comma-separated: ${(e as Error).message}` });
        }
      }),
    ),
  ),
});

export const hubUrlSchema = z.string().check(z.superRefine((value, ctx) => {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'an absolute URL such as "https://hub.example.org/"' });
    return;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') ctx.addIssue({ code: 'custom', message: 'an http:// or https:// URL' });
  if (u.search || u.hash) ctx.addIssue({ code: 'custom', message: 'a URL without "?query" or "#fragment"' });
  if (u.username || u.password) ctx.addIssue({ code: 'custom', message: 'a URL without a user or password in it (the password goes to the keychain)' });
}));

export const facilityProfileSchema = z.object({
  schema: z.literal(1, { error: 'the number 1 (this is schema version 1 of the facility profile)' }),
  id: z.string().check(z.regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lower-case letters, digits and "-", such as "desy-naf"')),
  name: z.string().check(z.minLength(1, 'the facility name people read, such as "DESY NAF"')),
  hub: z.object({
    url: hubUrlSchema,
    /** How long the API token Roamlab asks the hub for stays valid (default 14 days). */
    tokenLifetimeDays: z.optional(z.number().check(z.positive(), z.maximum(365))),
  }),
  ssh: z.optional(sshSchema),
  classes: z._default(z.array(notebookClassSchema), []),
});

export type NotebookClass = z.infer<typeof notebookClassSchema>;
export type SshSettings = z.infer<typeof sshSchema>;
export type FacilityProfile = z.infer<typeof facilityProfileSchema>;

/** The hub URL with a trailing slash, so relative paths (hub/api, user/NAME/) resolve under its prefix. */
export function hubBaseUrl(profile: FacilityProfile): URL {
  const u = new URL(profile.hub.url);
  if (!u.pathname.endsWith('/')) u.pathname += '/';
  return u;
}

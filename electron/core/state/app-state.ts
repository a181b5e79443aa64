import path from 'node:path';
import * as z from '../../common/zod';
import { JsonStore } from './json-store';
import { thresholdOverridesSchema } from '../monitor/limits-policy';

/**
 * What Roamlab remembers between runs that is not secret: per facility, who signs in and which
 * class was picked last. Secrets never come here (they live in the keychain).
 */
export const facilityStateSchema = z.object({
  username: z.optional(z.string()),
  lastClass: z.optional(z.string()),
  /** Whether the password is kept in the keychain (remember me). */
  rememberPassword: z._default(z.boolean(), true),
  /** The person's own warning thresholds for this facility (defaults: 80/95 %, 30/10/5 min). */
  thresholds: z.optional(thresholdOverridesSchema),
  /** The notebook classes the hub's own spawn form offered at the last sign-in. */
  hubForm: z.optional(
    z.object({
      key: z.string(),
      options: z.array(z.object({ id: z.string(), label: z.string(), description: z.optional(z.string()) })),
      readAt: z.string(),
    }),
  ),
});

export const appStateSchema = z.object({
  version: z.literal(1),
  facilities: z._default(z.record(z.string(), facilityStateSchema), {}),
});

export type AppState = z.infer<typeof appStateSchema>;
export type FacilityState = z.infer<typeof facilityStateSchema>;

export function appStateStore(home: string): JsonStore<AppState> {
  return new JsonStore(path.join(home, 'state.json'), appStateSchema, () => ({ version: 1, facilities: {} }));
}

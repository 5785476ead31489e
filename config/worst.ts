// The one `worst` field of monitors and digests: how many of the worst items a report shows in its thread.
import { z } from 'zod';
import { oldFormMessage } from './upgrade.ts';

/**
 * The most worst items a report shows. A digest puts them in one thread message of four blocks each, so ten keep it
 * within Slack's 50 blocks; a monitor posts one thread reply per item and uses the same ceiling, so one rule reads
 * the same in both files. Monitors used to accept up to 20: their `Upgrade` (upgradeMonitor in monitors/schema.ts)
 * reads a larger value as 10 with a warning, through clampOldWorst below.
 */
export const WORST_MAX = 10;

/**
 * `worst: N`, 0 to WORST_MAX (0: no worst items in the thread), with the file's default. The defaults differ on
 * purpose and the text says why: `when` is how often the report posts, which sets how many items are worth reading.
 */
export function worstSchema(defaultN: number, shows: string, when: string) {
  return z
    .number()
    .int()
    .min(0)
    .max(WORST_MAX)
    .default(defaultN)
    .describe(`${shows} (0: none; the same range in monitors and digests); ${defaultN} by default: ${when}`);
}

/**
 * The old monitor range of `worst` (0 to 20): a value above WORST_MAX is read as WORST_MAX with a warning at the
 * key, for one release. Returns the warning text, or undefined when the value is in range (or not a number).
 */
export function clampOldWorst(value: unknown): { value: number; message: string } | undefined {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= WORST_MAX || value > 20)
    return undefined;
  return {
    value: WORST_MAX,
    message: `${oldFormMessage(`worst: ${value}`, `worst: ${WORST_MAX}`)} (a report shows at most ${WORST_MAX} worst items; it is read as ${WORST_MAX})`,
  };
}

// The one name rule of suites, monitors, digests and score names: lower-case letters, digits, `-`, `_` and `.`,
// starting with a letter or digit. Names are typed in commands (`arbiter run <name>`), so one rule everywhere.
import { z } from 'zod';

/** The one name rule. */
export const NAME_RE = /^[a-z0-9][a-z0-9_.-]{0,79}$/;

/** A name of a suite, monitor, digest or score, e.g. `support-quality`. */
export const NameSchema = z.string().regex(NAME_RE, {
  error: 'expected a lower-case name of letters, digits, -, _ and . (at most 80), e.g. support-quality',
});

/** The name a text would have under the rule (for a warning that shows it). */
export function toName(text: string): string {
  return (
    text
      .toLowerCase()
      .replace(/[^a-z0-9_.-]+/g, '-')
      .replace(/^[^a-z0-9]+/, '')
      .slice(0, 80) || 'name'
  );
}

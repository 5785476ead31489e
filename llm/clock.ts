// Time for the wrapper: retries, back-off, rate limits and the breaker read `nowMs` and wait with `sleep` of the
// one `Clock` (config/), so tests drive minutes of back-off in microseconds (`createManualClock`).
import type { Clock } from '../config/index.ts';

/** The part of the `Clock` the wrapper's stages read: millisecond time and an abortable sleep. */
export type LlmTimer = Pick<Clock, 'nowMs' | 'sleep'>;

// The one `provider:model` type: how suites, metrics, monitors, prices and the environment name a model.
import { z } from 'zod';

/** `provider:model`: a lower-case provider name, a colon, and the provider's model id. */
export const MODEL_NAME_RE = /^[a-z][a-z0-9-]*:[\w.:/@-]+$/;

/** A `provider:model` name, e.g. `anthropic:claude-sonnet-5-5` or `offline:heuristic`. */
export const ModelNameSchema = z.string().regex(MODEL_NAME_RE, {
  error: 'expected provider:model, e.g. anthropic:claude-sonnet-5-5 or offline:heuristic',
});

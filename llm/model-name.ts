// `provider:model` names, the only way suites, monitors and config refer to a model.

/** A parsed model name. */
export interface ModelName {
  provider: string;
  model: string;
  /** `provider:model` as written. */
  full: string;
}

/**
 * Splits `provider:model` and checks the provider against the known names. Expected failures are values: the
 * error names what was given and lists the valid providers.
 */
export function parseModelName(
  name: string,
  knownProviders: readonly string[],
): { ok: true; value: ModelName } | { ok: false; error: string } {
  const valid = `valid providers: ${knownProviders.join(', ')}`;
  const trimmed = typeof name === 'string' ? name.trim() : '';
  const idx = trimmed.indexOf(':');
  if (idx <= 0 || idx === trimmed.length - 1) {
    return {
      ok: false,
      error: `Model "${trimmed}" is not of the form provider:model (e.g. anthropic:claude-sonnet-5-5, gemini:gemini-3.5-flash, offline:heuristic); ${valid}.`,
    };
  }
  const provider = trimmed.slice(0, idx).toLowerCase();
  const model = trimmed.slice(idx + 1);
  if (!knownProviders.includes(provider)) {
    return { ok: false, error: `Unknown LLM provider "${provider}" in model "${trimmed}"; ${valid}.` };
  }
  return { ok: true, value: { provider, model, full: `${provider}:${model}` } };
}

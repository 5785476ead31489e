// The per-field size limit of dataset rows and monitor source records (RECORD_FIELD_MAX_BYTES): one oversized field
// (a 50 MB input) must be refused by name, not scored, stored and posted.

/** RECORD_FIELD_MAX_BYTES's default: 256 KiB of UTF-8 per field. */
export const DEFAULT_FIELD_MAX_BYTES = 256 * 1024;

/** A byte count as people read it (`300 KB`, `50.0 MB`). */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} bytes`;
  if (n < 1024 * 1024) return `${Math.round(n / 1024)} KB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MB`;
}

/** The UTF-8 size of a field's value: a string's bytes, anything else's JSON text. */
function fieldBytes(value: unknown, limit: number): number {
  if (typeof value === 'string') {
    // Every UTF-16 unit is 1 to 3 bytes: most fields are decided without encoding them.
    if (value.length * 3 <= limit) return value.length;
    return Buffer.byteLength(value, 'utf8');
  }
  if (value === undefined || value === null || typeof value !== 'object') return 0;
  try {
    return Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8');
  } catch {
    // Nested too deep for JSON.stringify: far past any limit worth having.
    return Number.POSITIVE_INFINITY;
  }
}

/**
 * The first field of `fields` over `limit` bytes, as a reason naming the field, its size, the limit and the setting;
 * undefined when every field fits.
 */
export function oversizedField(fields: Record<string, unknown>, limit: number): string | undefined {
  for (const [name, value] of Object.entries(fields)) {
    const size = fieldBytes(value, limit);
    if (size > limit) {
      const shown = Number.isFinite(size) ? formatBytes(size) : 'too deeply nested to measure';
      return `field \`${name}\` is ${shown}, over the ${formatBytes(limit)} limit per field (RECORD_FIELD_MAX_BYTES): shorten it, or raise the limit`;
    }
  }
  return undefined;
}

// What marks a trace or observation as Arbiter's own (judge, simulator and run calls it traces itself), so no
// monitor scores Arbiter's own generations. A leaf module: the tracing side imports the same markers to set them.

/** The markers Arbiter puts on what it traces itself; any one of them makes an observation Arbiter's own. */
export const ARBITER_OWN_MARKERS = {
  /** Trace tag. */
  tag: 'arbiter',
  /** Metadata keys whose value `arbiter` marks an observation (on the observation or its trace). */
  metadataKeys: ['arbiter.source', 'source'],
  metadataValue: 'arbiter',
  /** Prefix of trace and observation names. */
  namePrefix: 'arbiter.',
} as const;

/** The fields of an observation the predicate looks at (v2 `basic`, `metadata` and `trace_context` groups). */
export interface OwnMarkerFields {
  name?: string | null | undefined;
  traceName?: string | null | undefined;
  tags?: readonly string[] | null | undefined;
  metadata?: unknown;
}

function markedMetadata(metadata: unknown): boolean {
  if (!metadata || typeof metadata !== 'object' || Array.isArray(metadata)) return false;
  const md = metadata as Record<string, unknown>;
  for (const key of ARBITER_OWN_MARKERS.metadataKeys) {
    if (md[key] === ARBITER_OWN_MARKERS.metadataValue) return true;
  }
  // Span attributes Langfuse does not map itself land under metadata.attributes.
  const attrs = md.attributes;
  if (attrs && typeof attrs === 'object' && !Array.isArray(attrs)) {
    for (const key of ARBITER_OWN_MARKERS.metadataKeys) {
      if ((attrs as Record<string, unknown>)[key] === ARBITER_OWN_MARKERS.metadataValue) return true;
    }
  }
  return false;
}

/** True when an observation (with decoded metadata) is one Arbiter traced itself. */
export function isArbiterOwnObservation(o: OwnMarkerFields): boolean {
  const prefix = ARBITER_OWN_MARKERS.namePrefix;
  if (typeof o.name === 'string' && o.name.startsWith(prefix)) return true;
  if (typeof o.traceName === 'string' && o.traceName.startsWith(prefix)) return true;
  if (Array.isArray(o.tags) && o.tags.includes(ARBITER_OWN_MARKERS.tag)) return true;
  return markedMetadata(o.metadata);
}

/**
 * The v2 `filter` condition that leaves Arbiter-tagged traces out server-side (column `tags`, arrayOptions
 * `none of`; https://api.reference.langfuse.com/#tag/observationsv2/GET/api/public/v2/observations).
 */
export const EXCLUDE_ARBITER_TAG_FILTER = {
  type: 'arrayOptions',
  column: 'tags',
  operator: 'none of',
  value: [ARBITER_OWN_MARKERS.tag],
} as const;

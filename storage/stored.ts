// Reading stored documents back: every document (and every JSON string a document carries) is parsed with its
// zod schema, so one written by another version or edited by hand is a clear STORE_INVALID_DOCUMENT naming the
// collection, the id and the field, not a crash deep inside the code that used it.
import type { z } from 'zod';
import { ArbiterError } from '../config/index.ts';

/** Where a stored value lives: its collection, the document's id when known, the field holding it if not the whole document. */
export interface StoredAt {
  collection: string;
  id?: string;
  field?: string;
}

function describeAt(at: StoredAt, doc: unknown): string {
  const id =
    at.id ??
    (doc && typeof doc === 'object' && typeof (doc as { _id?: unknown })._id === 'string'
      ? (doc as { _id: string })._id
      : undefined);
  return `${at.collection}/${id ?? '(unknown id)'}${at.field ? ` (field ${at.field})` : ''}`;
}

function invalid(at: StoredAt, doc: unknown, what: string, details?: unknown): ArbiterError {
  return new ArbiterError('STORE_INVALID_DOCUMENT', `Stored document ${describeAt(at, doc)} ${what}`, {
    hint: 'It was written by another version of Arbiter or edited by hand: restore it from a backup, or delete the document.',
    ...(details !== undefined ? { details } : {}),
  });
}

/** The document parsed with its schema; throws STORE_INVALID_DOCUMENT naming where it lives and the first bad field. */
export function parseStored<S extends z.ZodType>(schema: S, doc: unknown, at: StoredAt): z.infer<S> {
  const parsed = schema.safeParse(doc);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const path = issue?.path.length ? `${issue.path.map(String).join('.')}: ` : '';
  throw invalid(
    at,
    doc,
    `does not match its schema: ${path}${issue?.message ?? 'invalid'}`,
    parsed.error.issues,
  );
}

/** A JSON string stored in a document, parsed and then checked with its schema; unreadable JSON is the same error. */
export function parseStoredJson<S extends z.ZodType>(schema: S, json: string, at: StoredAt): z.infer<S> {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (err) {
    throw invalid(at, undefined, `holds unreadable JSON: ${(err as Error).message}`);
  }
  return parseStored(schema, value, at);
}

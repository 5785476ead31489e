// The key of signed report links: REPORT_LINK_SECRET when set; otherwise a random key created once and kept in the
// store (so links survive restarts and every replica on the same store signs alike). It is registered as a secret,
// so no log line ever shows it.
import { randomBytes } from 'node:crypto';
import {
  createReportLinks,
  type Env,
  parseDuration,
  registerSecret,
  type ReportLinks,
} from '../config/index.ts';
import type { DocumentStore } from '../storage/index.ts';

interface SecretDoc {
  _id: string;
  value: string;
  createdAt: Date;
}

/** Collection and id of the stored key. */
export const LINK_SECRET_COLLECTION = 'settings';
const LINK_SECRET_ID = 'report-link-secret';

/** The link key: the configured one, or the stored one (created on first use; a concurrent creator's key wins). */
export async function resolveLinkSecret(store: DocumentStore, configured?: string): Promise<string> {
  if (configured) {
    registerSecret(configured);
    return configured;
  }
  const settings = await store.collection<SecretDoc>(LINK_SECRET_COLLECTION);
  let doc = await settings.findOne({ _id: LINK_SECRET_ID });
  if (!doc) {
    // An upsert that only sets on insert: two processes creating at once end with one key.
    await settings.updateOne(
      { _id: LINK_SECRET_ID },
      { $setOnInsert: { value: randomBytes(32).toString('base64url'), createdAt: new Date() } },
      { upsert: true },
    );
    doc = await settings.findOne({ _id: LINK_SECRET_ID });
  }
  if (!doc?.value) throw new Error('the report link key could not be stored');
  registerSecret(doc.value);
  return doc.value;
}

/** The signer of report links from the environment (PUBLIC_URL, REPORT_LINK_SECRET, REPORT_LINK_TTL). */
export async function openReportLinks(
  env: Pick<Env, 'PUBLIC_URL' | 'REPORT_LINK_SECRET' | 'REPORT_LINK_TTL'>,
  store: DocumentStore,
): Promise<ReportLinks> {
  return createReportLinks({
    secret: await resolveLinkSecret(store, env.REPORT_LINK_SECRET),
    ttlMs: parseDuration(env.REPORT_LINK_TTL) ?? 30 * 86_400_000,
    publicUrl: env.PUBLIC_URL,
  });
}

// `arbiter runs show <id> --link` and `arbiter review report <id> --link`: the signed URL of the object's report
// page (under PUBLIC_URL, else the bot's local address), with the key the bot signs with (REPORT_LINK_SECRET or the
// one kept in the store).
import { ArbiterError, createSilentLogger, type Env, reportPaths } from '../config/index.ts';
import { createReviewRepository } from '../reviews/index.ts';
import { createRunRepository } from '../runs/index.ts';
import { type DocumentStore, openStore } from '../storage/index.ts';
import type { CliIo } from './io.ts';

/** Prints the signed URL of a run's or a review's page (the registry parsed `id`); exit 2 when there is no such object. */
export async function runLinkCli(
  kind: 'run' | 'review',
  id: string,
  deps: { env: Env; io: CliIo; store?: DocumentStore },
): Promise<number> {
  const store = deps.store ?? (await openStore(deps.env, { logger: createSilentLogger() }));
  try {
    const exists =
      kind === 'run'
        ? (await (await createRunRepository(store)).getRun(id)) !== null
        : (await (await createReviewRepository(store)).getReview(id)) !== null;
    if (!exists)
      throw new ArbiterError('NOT_FOUND', `No ${kind} with id ${id}.`, {
        hint:
          kind === 'run' ? 'List runs with `arbiter runs list`.' : 'List reviews with `arbiter review list`.',
      });
    deps.io.stdout(`${await reportLinkOf(kind, id, deps.env, store)}\n`);
    if (!deps.env.PUBLIC_URL) deps.io.stderr(`${LOCAL_LINK_NOTE}\n`);
    return 0;
  } finally {
    if (!deps.store) await store.close();
  }
}

/** Said under a link when PUBLIC_URL is not set. */
export const LOCAL_LINK_NOTE =
  "PUBLIC_URL is not set: this is the bot's local address (set PUBLIC_URL for a shareable link).";

/** The signed URL of a run's or a review's page: under PUBLIC_URL, else the bot's local address. */
export async function reportLinkOf(
  kind: 'run' | 'review',
  id: string,
  env: Env,
  store: DocumentStore,
): Promise<string> {
  // web/ (the report pages and Hono) loads only for a link, not when `arbiter help` starts (test/startup.test.ts).
  const { openReportLinks } = await import('../web/index.ts');
  const links = await openReportLinks(env, store);
  const path = kind === 'run' ? reportPaths.run(id) : reportPaths.review(id);
  const host = env.HOST === '0.0.0.0' || env.HOST === '::' ? '127.0.0.1' : env.HOST;
  return links.url(path, `http://${host}:${env.PORT}`);
}

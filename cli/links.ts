// `arbiter runs show <id> --link` and `arbiter review report <id> --link`: the signed URL of the object's report
// page (under PUBLIC_URL, else the bot's local address), with the key the bot signs with (REPORT_LINK_SECRET or the
// one kept in the store).
import type { CliServices } from '../commands/index.ts';
import { ArbiterError, type Env } from '../config/index.ts';
import { createReviewRepository } from '../reviews/index.ts';
import type { CliIo } from './io.ts';

/** Prints the signed URL of a run's or a review's page (the registry parsed `id`); exit 2 when there is no such object. */
export async function runLinkCli(
  kind: 'run' | 'review',
  id: string,
  deps: { env: Env; io: CliIo; services: CliServices },
): Promise<number> {
  const { services } = deps;
  const exists =
    kind === 'run'
      ? (await (await services.runReader()).getRun(id)) !== null
      : (await (await createReviewRepository(await services.store())).getReview(id)) !== null;
  if (!exists)
    throw new ArbiterError('NOT_FOUND', `No ${kind} with id ${id}.`, {
      hint:
        kind === 'run' ? 'List runs with `arbiter runs list`.' : 'List reviews with `arbiter review list`.',
    });
  deps.io.stdout(`${await services.reportUrl(kind, id)}\n`);
  if (!deps.env.PUBLIC_URL) deps.io.stderr(`${LOCAL_LINK_NOTE}\n`);
  return 0;
}

/** Said under a link when PUBLIC_URL is not set. */
export const LOCAL_LINK_NOTE =
  "PUBLIC_URL is not set: this is the bot's local address (set PUBLIC_URL for a shareable link).";

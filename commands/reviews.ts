// The review commands (`review`, `review list`, `review close`, `review reason`, `leaderboard`) as transport-neutral
// Messages, and the adapter from runs/ RunService to the narrow run port reviews/ reads runs through.
import type { AuditActor } from '../audit/index.ts';
import { isArbiterError } from '../config/index.ts';
import { renderTranscript } from '../evaluators/index.ts';
import type { ReviewRun, ReviewRunSource, ReviewService, ReviewSummary } from '../reviews/index.ts';
import type { Run, RunService } from '../runs/index.ts';
import { escapeMrkdwn, type Message, plainText } from '../chat/index.ts';

/** Who asked and where: the review's parent message and result go to `channel`. */
export interface ReviewCommandContext {
  user: string;
  channel: string;
  /** A redelivered command with the same key opens no second review. */
  idempotencyKey?: string;
  /** Who asked, from which front door, for the audit trail. */
  actor?: AuditActor;
}

/** A note whose `text` is our mrkdwn (values in it escaped); the summary is its plain text. */
function note(title: string, text: string, ephemeral = true): Message {
  return {
    title,
    summary: plainText(text),
    sections: [{ kind: 'text', text }],
    ...(ephemeral ? { ephemeral } : {}),
  };
}

function describeTarget(target: Record<string, unknown> | undefined): string {
  if (!target) return 'unknown target';
  const str = (k: string) => (typeof target[k] === 'string' ? (target[k] as string) : undefined);
  const type = str('type') ?? 'target';
  switch (type) {
    case 'model':
      return str('model') ?? 'model';
    case 'prompt': {
      const version =
        typeof target.version === 'number' ? ` v${target.version}` : `@${str('label') ?? 'production'}`;
      const model = str('model');
      return `prompt ${str('name') ?? '?'}${version}${model ? ` on ${model}` : ''}`;
    }
    case 'http': {
      const url = str('url');
      try {
        return url ? `http ${new URL(url).host}` : 'http';
      } catch {
        return 'http';
      }
    }
    default:
      return type;
  }
}

/**
 * The contender label of a run: `<suite> · <target>`, where the target is the model (`model` targets), the prompt
 * and version or label plus model (`prompt` targets), the host (`http`) or the target type. The leaderboard pools
 * closed reviews on this label, so runs of one suite with one model count as one contender.
 */
export function runLabel(run: Pick<Run, 'suiteName' | 'suiteJson'>): string {
  let target: Record<string, unknown> | undefined;
  try {
    const suite = JSON.parse(run.suiteJson) as { target?: Record<string, unknown> };
    target = suite.target;
  } catch {
    target = undefined;
  }
  return `${run.suiteName} · ${describeTarget(target)}`;
}

/** Adapts the run service to the port reviews/ reads runs through: finished items with their outputs. */
export function createReviewRunSource(runs: Pick<RunService, 'getRun' | 'items'>): ReviewRunSource {
  return {
    async getRun(id): Promise<ReviewRun | null> {
      const run = await runs.getRun(id);
      return run ? { id: run._id, suiteName: run.suiteName, status: run.status, label: runLabel(run) } : null;
    },
    async items(id) {
      const views = await runs.items(id);
      return views
        .filter((v) => v.doc.status === 'done')
        .map((v) => ({
          key: v.item.key,
          input: v.item.input,
          output:
            v.result?.output ?? (v.result?.transcript ? renderTranscript(v.result.transcript) : undefined),
        }));
    },
  };
}

/** `review <runA> <runB> […]`: opens the review; the creator sees its id and contenders (only they see it). */
export async function reviewCommand(
  command: {
    name?: string;
    runs: string[];
    pairs?: number | undefined;
    reviewersPerPair?: number | undefined;
    dm?: boolean | undefined;
    deadlineMs?: number | undefined;
  },
  ctx: ReviewCommandContext,
  reviews: ReviewService,
): Promise<Message> {
  const { review, created } = await reviews.create({
    runs: command.runs,
    pairs: command.pairs,
    reviewersPerPair: command.reviewersPerPair,
    dm: command.dm,
    deadlineMs: command.deadlineMs,
    channel: ctx.channel,
    user: ctx.user,
    idempotencyKey: ctx.idempotencyKey,
    ...(ctx.actor ? { actor: ctx.actor } : {}),
  });
  const contenders = review.contenders
    .map((c) => `${escapeMrkdwn(c.label)} (\`${escapeMrkdwn(c.runId)}\`)`)
    .join(' vs ');
  const where = review.options.dm
    ? `Ballots go by DM to ${review.reviewers.length} reviewer(s).`
    : 'Ballots are posted in this channel, in the review thread.';
  const text = `${created ? 'Opened' : 'Already opened'} blind review \`${review._id}\`: ${review.pairCount} pairs of ${contenders}. ${where} Close it early with \`review close ${review._id}\`.`;
  return {
    title: 'Blind review',
    summary: `Blind review ${review._id} opened with ${review.pairCount} pairs`,
    sections: [
      { kind: 'text', text },
      {
        kind: 'context',
        items: ['Only you see this message: reviewers never see which run wrote which answer.'],
      },
    ],
    ephemeral: true,
  };
}

function row(s: ReviewSummary): string {
  const r = s.review;
  const labels = r.contenders.map((c) => c.label).join(' vs ');
  return `${r._id}  ${r.status.padEnd(9)}  ${r.pairCount} pairs  ${s.votes} votes  ${labels}`;
}

/** `review list`: open and recent reviews (only the asker sees it, as it names runs). */
export async function reviewListCommand(reviews: ReviewService): Promise<Message> {
  const list = await reviews.list({ limit: 15 });
  return {
    title: 'Reviews',
    summary: `${list.length} recent reviews`,
    sections: [
      list.length
        ? { kind: 'code', text: list.map(row).join('\n') }
        : { kind: 'text', text: 'No reviews yet: open one with `review <runA> <runB>`.' },
    ],
    ephemeral: true,
  };
}

/** `review close <id>`: closes now; the result is posted in the review's thread by the report job. */
export async function reviewCloseCommand(
  command: { name?: string; id: string },
  ctx: Pick<ReviewCommandContext, 'user' | 'actor'>,
  reviews: ReviewService,
): Promise<Message> {
  const { review, changed } = await reviews.close(command.id, {
    reason: 'manual',
    by: ctx.user,
    ...(ctx.actor ? { actor: ctx.actor } : {}),
  });
  if (!changed)
    return note('Review close', `Review \`${review._id}\` is already ${review.status}; nothing changed.`);
  return note(
    'Review closed',
    `Closed review \`${review._id}\`. The reveal and the result are being posted in its thread.`,
  );
}

/** `leaderboard`: ratings pooled over every closed review, posted for the channel. */
export async function leaderboardCommand(reviews: ReviewService): Promise<Message> {
  return reviews.leaderboard();
}

/** `review reason <token> <text>`: attaches a reason to the caller's vote on that ballot. */
export async function reviewReasonCommand(
  input: { token: string; reason: string },
  ctx: Pick<ReviewCommandContext, 'user'>,
  reviews: ReviewService,
): Promise<Message> {
  try {
    return await reviews.addReason(input.token, ctx.user, input.reason);
  } catch (err) {
    if (isArbiterError(err, 'NOT_FOUND')) return note('Review', escapeMrkdwn(err.message));
    throw err;
  }
}

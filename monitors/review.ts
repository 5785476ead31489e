// Human review of judge scores flagged `needs_review`: the tick stores an opaque token per (item, metric) and shows
// Confirm / Override buttons; the action handler records the decision, publishes it to Langfuse as a human score
// (deterministic id, so retries and changed minds upsert) and redraws the clicked message.
import { createHash } from 'node:crypto';
import { type AuditLog, clickActor, recordAudit } from '../audit/index.ts';
import type { ActionHandler, ActionResult } from '../chat/index.ts';
import { type Message, md, mention, plainText, trusted } from '../chat/index.ts';
import { type Clock, createSilentLogger, type Logger } from '../config/index.ts';
import type { Score } from '../evaluators/index.ts';
import type { LangfuseClient, ScoreInput } from '../langfuse/index.ts';
import type { Collection, Doc, DocumentStore } from '../storage/index.ts';
import type { ReportItem } from './report.ts';
import { buildReviewedItemMessage } from './report.ts';

/** Action id prefix of the review buttons: `monitor.review:confirm|pass|fail`. */
export const REVIEW_ACTION_PREFIX = 'monitor.review';

/** What a reviewer can decide: keep the judge's value, or override it with pass (1) or fail (0). */
export type ReviewDecisionKind = 'confirm' | 'pass' | 'fail';

/** One human decision on one judge score. */
export interface ReviewDecision {
  kind: ReviewDecisionKind;
  /** The human score: the judge's value when confirmed, 1 or 0 when overridden. */
  value: number;
  by: string;
  at: Date;
  /** Delivery key of the click (a redelivery of the same click changes nothing). */
  key: string;
}

/** A review token: which score of which item the buttons decide on, and the decision once made. */
export interface ReviewTokenDoc extends Doc {
  monitor: string;
  source: string;
  itemId: string;
  metric: string;
  judgeValue: number;
  judgeLabel?: string;
  traceId?: string;
  observationId?: string;
  /** Langfuse environment of the item's trace; the human score carries it. */
  environment?: string;
  /** The monitor publishes to Langfuse (and the item has a trace): human scores go there too. */
  publishLangfuse: boolean;
  createdAt: Date;
  decision?: ReviewDecision;
  /** Decisions replaced by a later one, oldest first. */
  replaced?: ReviewDecision[];
  /** Delivery keys of every click recorded, so a late redelivery of an older click changes nothing either. */
  keys?: string[];
  /** Bumped by each decision: writes are conditional on it, so two concurrent clicks cannot interleave. */
  rev?: number;
  /** False while the current decision still has to reach Langfuse. */
  published?: boolean;
}

/** Repository of review tokens (collection `monitor_reviews`). */
export interface MonitorReviewStore {
  /** Stores tokens; an existing token (and its decision) is left untouched. */
  register(docs: readonly ReviewTokenDoc[]): Promise<void>;
  get(token: string): Promise<ReviewTokenDoc | null>;
  /** Tokens of one item, in metric order. */
  forItem(source: string, monitor: string, itemId: string): Promise<ReviewTokenDoc[]>;
  /**
   * Records a decision unless `decision.key` is the last one recorded (a redelivery). Returns the doc before the
   * write, or null when nothing was written (unknown token or redelivery).
   */
  decide(token: string, decision: ReviewDecision, publish: boolean): Promise<ReviewTokenDoc | null>;
  /** Decisions still to publish to Langfuse. */
  unpublished(monitor?: string): Promise<ReviewTokenDoc[]>;
  /** Decided tokens of items scored by ticks with `from <= tickTime < to` (of one monitor, when given). */
  decidedBetween(from: Date, to: Date, monitor?: string): Promise<ReviewTokenDoc[]>;
  /** Marks a token's current decision published (only if that decision is still the current one). */
  markPublished(token: string, key: string): Promise<void>;
}

/** Opens `monitor_reviews`. */
export async function createMonitorReviewStore(store: DocumentStore): Promise<MonitorReviewStore> {
  const col: Collection<ReviewTokenDoc> = await store.collection<ReviewTokenDoc>('monitor_reviews', [
    { fields: { monitor: 1, published: 1 } },
    { fields: { source: 1, monitor: 1, itemId: 1 } },
    { fields: { createdAt: 1 } },
    // unpublished() of every monitor (the publisher's retry): no monitor to lead the compound index.
    { fields: { published: 1 } },
  ]);
  return {
    async register(docs) {
      for (const { _id, ...rest } of docs) {
        await col.updateOne({ _id }, { $setOnInsert: rest }, { upsert: true });
      }
    },
    get: (token) => col.findOne({ _id: token }),
    async forItem(source, monitor, itemId) {
      const docs = await col.find({ source, monitor, itemId });
      return docs.sort((a, b) => a.metric.localeCompare(b.metric));
    },
    async decide(token, decision, publish) {
      for (let attempt = 0; attempt < 5; attempt++) {
        const before = await col.findOne({ _id: token });
        if (!before || before.keys?.includes(decision.key)) return null;
        const rev = before.rev ?? 0;
        const written = await col.findOneAndUpdate(
          { _id: token, ...(rev === 0 ? { $or: [{ rev: 0 }, { rev: { $exists: false } }] } : { rev }) },
          {
            $set: { decision, published: !publish, rev: rev + 1 },
            $push: { keys: decision.key, ...(before.decision ? { replaced: before.decision } : {}) },
          },
          { returnDocument: 'before' },
        );
        if (written) return written;
      }
      throw new Error(`review ${token}: too many concurrent decisions`);
    },
    unpublished(monitor) {
      return col.find({ published: false, ...(monitor ? { monitor } : {}) });
    },
    async decidedBetween(from, to, monitor) {
      return col.find({
        createdAt: { $gte: from, $lt: to },
        decision: { $exists: true },
        ...(monitor ? { monitor } : {}),
      });
    },
    async markPublished(token, key) {
      await col.updateOne({ _id: token, 'decision.key': key }, { $set: { published: true } });
    },
  };
}

/** An opaque, deterministic token for (source, monitor, item, metric): re-posting a report reuses it. */
export function reviewToken(source: string, monitor: string, itemId: string, metric: string): string {
  return `mr_${createHash('sha256').update(`review|${source}|${monitor}|${itemId}|${metric}`).digest('hex').slice(0, 32)}`;
}

/** The deterministic Langfuse id of the human score on (monitor, item, metric): a changed decision upserts it. */
export function humanScoreId(monitor: string, itemId: string, metric: string): string {
  const h = createHash('sha256').update(`arbiter|${monitor}|${itemId}|${metric}|human`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** Name of the human score in Langfuse, next to the judge's score of the same metric. */
export const humanScoreName = (metric: string) => `${metric}-human`;

/**
 * What human decisions change in the statistics of one tick: per metric, the sum of (human value − judge value),
 * and the human value of each decided item and metric. Stored tick summaries keep the judge's values; readers
 * (digests, alert windows) add these on top, so a decision changed later is never counted twice.
 */
export interface HumanAdjustment {
  delta: ReadonlyMap<string, number>;
  valueOf(itemId: string, metric: string): number | undefined;
  decisions: number;
}

/** Human adjustments by tick (a token's `createdAt` is the time of the tick that scored its item). */
export interface HumanAdjustments {
  forTick(monitor: string, tickTime: Date | string): HumanAdjustment | undefined;
}

/** Groups decided tokens by the tick that scored their items. */
export function humanAdjustments(decided: readonly ReviewTokenDoc[]): HumanAdjustments {
  const keyOf = (monitor: string, tickTime: Date | string) =>
    `${monitor}|${typeof tickTime === 'string' ? tickTime : tickTime.toISOString()}`;
  const ticks = new Map<
    string,
    { delta: Map<string, number>; values: Map<string, number>; decisions: number }
  >();
  for (const doc of decided) {
    if (!doc.decision) continue;
    const key = keyOf(doc.monitor, doc.createdAt);
    let t = ticks.get(key);
    if (!t) {
      t = { delta: new Map(), values: new Map(), decisions: 0 };
      ticks.set(key, t);
    }
    t.delta.set(doc.metric, (t.delta.get(doc.metric) ?? 0) + doc.decision.value - doc.judgeValue);
    t.values.set(`${doc.itemId}|${doc.metric}`, doc.decision.value);
    t.decisions += 1;
  }
  return {
    forTick(monitor, tickTime) {
      const t = ticks.get(keyOf(monitor, tickTime));
      if (!t) return undefined;
      return {
        delta: t.delta,
        valueOf: (itemId, metric) => t.values.get(`${itemId}|${metric}`),
        decisions: t.decisions,
      };
    },
  };
}

/** Scores of an item a human should look at (flagged by the judge, not errors). */
export function reviewableScores(scores: readonly Score[]): Score[] {
  return scores.filter((s) => s.needsReview === true && !s.error);
}

/**
 * Stores review tokens for every scored item with `needs_review` scores and attaches the buttons' data to the items
 * (the report renders them). Idempotent: tokens are deterministic and registration never overwrites a decision.
 */
export async function attachReviewButtons(
  input: {
    monitor: string;
    source: string;
    publishLangfuse: boolean;
    now: Date;
    items: (ReportItem & { rec: { traceId?: string; observationId?: string; environment?: string } })[];
  },
  reviews: MonitorReviewStore,
): Promise<void> {
  const docs: ReviewTokenDoc[] = [];
  for (const item of input.items) {
    const flagged = reviewableScores(item.scores);
    if (flagged.length === 0) continue;
    item.reviews = flagged.map((s) => {
      const token = reviewToken(input.source, input.monitor, item.id, s.metric);
      docs.push({
        _id: token,
        monitor: input.monitor,
        source: input.source,
        itemId: item.id,
        metric: s.metric,
        judgeValue: s.value,
        ...(s.label ? { judgeLabel: s.label } : {}),
        ...(item.rec.traceId ? { traceId: item.rec.traceId } : {}),
        ...(item.rec.observationId ? { observationId: item.rec.observationId } : {}),
        ...(item.rec.environment ? { environment: item.rec.environment } : {}),
        publishLangfuse: input.publishLangfuse && item.rec.traceId !== undefined,
        createdAt: input.now,
      });
      return { token, metric: s.metric, judgeValue: s.value };
    });
  }
  if (docs.length) await reviews.register(docs);
}

function toHumanScore(doc: ReviewTokenDoc, d: ReviewDecision): ScoreInput {
  return {
    id: humanScoreId(doc.monitor, doc.itemId, doc.metric),
    traceId: doc.traceId!,
    ...(doc.observationId ? { observationId: doc.observationId } : {}),
    ...(doc.environment ? { environment: doc.environment } : {}),
    name: humanScoreName(doc.metric),
    value: d.value,
    dataType: 'NUMERIC',
    comment: `${d.kind === 'confirm' ? 'confirmed' : `overridden: ${d.kind}`} by ${d.by} (judge ${doc.judgeValue.toFixed(2)})`,
    metadata: {
      monitor: doc.monitor,
      source: 'arbiter',
      kind: 'human-review',
      reviewer: d.by,
      decision: d.kind,
      judgeValue: doc.judgeValue,
      decidedAt: d.at.toISOString(),
    },
  };
}

/** Publishes one token's current decision; marks it published on success. */
async function publishDecision(
  doc: ReviewTokenDoc,
  deps: { langfuse?: LangfuseClient; reviews: MonitorReviewStore; logger: Logger },
): Promise<boolean> {
  if (!doc.decision || !doc.traceId || !deps.langfuse) return false;
  const res = await deps.langfuse.publishScores([toHumanScore(doc, doc.decision)]);
  if (res.failed.length > 0) {
    deps.logger.warn(
      { monitor: doc.monitor, item: doc.itemId, error: res.failed[0]!.error.message },
      'human score not published; will retry',
    );
    return false;
  }
  await deps.reviews.markPublished(doc._id, doc.decision.key);
  return true;
}

/** Re-publishes human decisions that did not reach Langfuse yet (called at the start of each tick). */
export async function publishPendingReviews(
  monitor: string,
  deps: { langfuse?: LangfuseClient; reviews: MonitorReviewStore; logger?: Logger },
): Promise<number> {
  if (!deps.langfuse) return 0;
  let n = 0;
  for (const doc of await deps.reviews.unpublished(monitor)) {
    if (
      await publishDecision(doc, {
        langfuse: deps.langfuse,
        reviews: deps.reviews,
        logger: deps.logger ?? createSilentLogger(),
      })
    )
      n += 1;
  }
  return n;
}

/** What the review action handler needs; `createMonitorStore(...)` gives `reviews` and `getScored`. */
export interface MonitorReviewDeps {
  store: {
    reviews: MonitorReviewStore;
    getScored(
      source: string,
      monitor: string,
      itemId: string,
    ): Promise<{ input: string; output: string; scores: Score[]; url?: string } | null>;
  };
  clock: Clock;
  langfuse?: LangfuseClient;
  logger?: Logger;
  /** The audit trail: each decision (confirm or override) is recorded there once. */
  audit?: Pick<AuditLog, 'record'>;
}

const KINDS: Record<string, ReviewDecisionKind> = { confirm: 'confirm', pass: 'pass', fail: 'fail' };

/** A short human sentence for a decision. */
export function describeDecision(metric: string, judgeValue: number, d: ReviewDecision): string {
  const what =
    d.kind === 'confirm'
      ? `confirmed the judge's ${judgeValue.toFixed(2)}`
      : `overrode the judge's ${judgeValue.toFixed(2)} with ${d.kind} (${d.value})`;
  return md`${mention(d.by)} ${what} on ${metric}`;
}

/** An ephemeral note; `text` is our mrkdwn (values escaped), its summary the plain text. */
function note(text: string): Message {
  return { title: 'Review', sections: [{ kind: 'text', text }], summary: plainText(text), ephemeral: true };
}

/** Handles `monitor.review:*` buttons (reviewers and admins): store, publish, redraw. */
export function createMonitorReviewActions(deps: MonitorReviewDeps): ActionHandler {
  const logger = deps.logger ?? createSilentLogger();
  return {
    prefix: REVIEW_ACTION_PREFIX,
    role: 'reviewer',
    async handle(input, ctx): Promise<ActionResult> {
      const raw = input.actionId.replace(/~\d+$/, '').slice(REVIEW_ACTION_PREFIX.length + 1);
      const kind = KINDS[raw];
      if (!kind) return { ephemeral: note(md`Unknown review action \`${input.actionId}\`.`) };
      const doc = await deps.store.reviews.get(input.value);
      if (!doc)
        return { ephemeral: note('This review button is unknown or has expired; nothing was recorded.') };
      const decision: ReviewDecision = {
        kind,
        value: kind === 'confirm' ? doc.judgeValue : kind === 'pass' ? 1 : 0,
        by: ctx.user,
        at: deps.clock.now(),
        key: ctx.key,
      };
      const before = await deps.store.reviews.decide(doc._id, decision, doc.publishLangfuse);
      const current = (await deps.store.reviews.get(doc._id))!;
      const redelivery = before === null;
      // A redelivery changes nothing, but a publish that failed the first time is retried (same id: an upsert).
      let publishNote = '';
      if (current.publishLangfuse && current.published === false) {
        const ok = await publishDecision(current, {
          ...(deps.langfuse ? { langfuse: deps.langfuse } : {}),
          reviews: deps.store.reviews,
          logger,
        });
        publishNote = ok ? '' : ' Langfuse did not take the human score yet; the next tick retries.';
      }
      const update = await redraw(deps, current);
      if (redelivery) return update ? { update } : {};
      const replaced = before?.decision;
      const made = current.decision!;
      await recordAudit(
        deps.audit,
        {
          key: `monitor.review:${ctx.key}`,
          actor: clickActor(ctx),
          action: made.kind === 'confirm' ? 'review.confirm' : 'review.override',
          object: { type: 'monitor', id: current.monitor },
          summary:
            made.kind === 'confirm'
              ? `Confirmed the judge's ${current.judgeValue.toFixed(2)} on ${current.metric} for item ${current.itemId}`
              : `Overrode the judge's ${current.judgeValue.toFixed(2)} with ${made.kind} on ${current.metric} for item ${current.itemId}`,
          details: {
            itemId: current.itemId,
            metric: current.metric,
            decision: made.kind,
            value: made.value,
            judgeValue: current.judgeValue,
            ...(replaced ? { replaced: replaced.kind, replacedBy: replaced.by } : {}),
          },
        },
        logger,
      );
      const text = md`${trusted(describeDecision(current.metric, current.judgeValue, current.decision!))}${
        replaced ? trusted(md` (replacing ${mention(replaced.by)}'s ${replaced.kind})`) : ''
      }.${publishNote}`;
      return {
        ...(update ? { update } : {}),
        ...(replaced
          ? {
              reply: {
                title: 'Review changed',
                sections: [{ kind: 'text', text }],
                summary: plainText(text),
              },
            }
          : {}),
        ephemeral: note(`Recorded: ${text}`),
      };
    },
  };
}

async function redraw(deps: MonitorReviewDeps, doc: ReviewTokenDoc): Promise<Message | undefined> {
  const scored = await deps.store.getScored(doc.source, doc.monitor, doc.itemId);
  if (!scored) return undefined;
  const tokens = await deps.store.reviews.forItem(doc.source, doc.monitor, doc.itemId);
  return buildReviewedItemMessage({
    id: doc.itemId,
    input: scored.input,
    output: scored.output,
    scores: scored.scores,
    ...(scored.url ? { url: scored.url } : {}),
    reviews: tokens.map((t) => ({
      token: t._id,
      metric: t.metric,
      judgeValue: t.judgeValue,
      ...(t.decision ? { decision: t.decision } : {}),
      ...(t.replaced?.length ? { replacedCount: t.replaced.length } : {}),
    })),
  });
}

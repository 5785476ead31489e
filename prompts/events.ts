// Job handlers behind the Langfuse webhook.
//
// `prompt.event` (one per accepted delivery): records the event, invalidates the prompt cache, and for a
// prompt-version event adds it to the open change batch of that prompt (one per prompt at a time, held open
// for `settleMs`), scheduling one `prompt.alert` job per batch. `monitor-alert` is forwarded; other types are
// recorded and logged.
//
// `prompt.alert` (one per batch): closes the batch, summarizes it (the two "updated" events of a label move
// become one "production: v3 → v4"), diffs, posts once, then starts suites with `watch.onChange: run`.
//
// Posting guarantee: the main message and each thread reply are recorded as keyed writes (deliverLater). The bot's
// transport is the outbox: the job records them and finishes without waiting for Slack; the outbox posts each once
// (paced, retried, looked up by its key after a crash). Each recorded write is noted in `prompt_alerts`, so a job run
// again records only what is missing. A transport without a delivery loop posts at once; there a crash after Slack
// accepted a post but before the record is written reposts that one message on retry.
import { z } from 'zod';
import { deliverLater, type Message } from '../chat/index.ts';
import type { PostedRef, Transport } from '../chat/index.ts';
import {
  type Clock,
  createSilentLogger,
  type Ids,
  isArbiterError,
  type Logger,
  systemClock,
  systemIds,
} from '../config/index.ts';
import type { LangfusePrompt } from '../langfuse/index.ts';
import {
  type DocumentStore,
  type JobContext,
  type JobHandler,
  type JobQueue,
  PermanentJobError,
  parseStoredJson,
} from '../storage/index.ts';
import { type AlertDiff, buildPromptAlert, type SuiteButton } from './alert-message.ts';
import { diffPrompts, type PromptContent } from './diff.ts';
import { type PromptChange, summarizeChange, type VersionEvent } from './label-moves.ts';
import type { PromptCache } from './prompt-cache.ts';
import {
  actionToken,
  openPromptActions,
  type PromptAction,
  type RunLauncher,
  type WatchingSuites,
} from './suites.ts';
import { PROMPT_EVENT_JOB, type PromptEventJobPayload } from './webhook-route.ts';
import {
  type LangfuseWebhookEvent,
  parseWebhookEvent,
  type PromptVersionEvent,
  userName,
} from './webhook-schema.ts';

/** Job type of one change batch's alert. */
export const PROMPT_ALERT_JOB = 'prompt.alert';

/** How long a change batch stays open for sibling events (the second "updated" of a label move). */
export const DEFAULT_SETTLE_MS = 10_000;

/** A recorded webhook event (any type); the raw body is kept as received. */
export interface LangfuseEventDoc {
  _id: string;
  type: string;
  receivedAt: Date;
  timestamp?: string;
  promptName?: string;
  version?: number;
  action?: string;
  body: string;
}

/** A change batch: the prompt-version events of one prompt within one settle window. */
export interface ChangeBatchDoc {
  _id: string;
  name: string;
  /** Set (to the prompt name) while open; a sparse unique index allows one open batch per prompt. */
  openKey?: string;
  eventIds: string[];
  status: 'open' | 'closed';
  openedAt: Date;
  settleAt: Date;
  closedAt?: Date;
  change?: PromptChange;
}

/** Labels Arbiter last saw on one version, to tell what moved. */
export interface LabelStateDoc {
  _id: string;
  name: string;
  version: number;
  labels: string[];
  updatedAt: Date;
}

/** A posted (or being posted) alert, keyed so a retried job never posts it twice. */
export interface AlertRecordDoc {
  _id: string;
  status: 'posting' | 'posted' | 'skipped';
  channel?: string;
  ts?: string;
  threadPosted: number;
  createdAt: Date;
  postedAt?: Date;
  reason?: string;
}

/** What the handlers need. */
export interface PromptEventsDeps {
  store: DocumentStore;
  queue: Pick<JobQueue, 'enqueue'>;
  transport: Transport;
  /** Channel for a prompt's alerts (PROMPT_ALERTS_CHANNEL / per-prompt map); undefined: no alert. */
  channelFor: (promptName: string) => string | undefined;
  /** Channel for forwarded monitor alerts; default PROMPT_ALERTS_CHANNEL via channelFor(''). */
  monitorChannel?: string;
  /** Invalidated on every prompt event; also reads versions the payload does not carry (the previous one). */
  cache?: Pick<PromptCache, 'invalidate' | 'get'>;
  suites?: WatchingSuites;
  launcher?: RunLauncher;
  /** Langfuse UI base, for a link in the alert. */
  langfuseBaseUrl?: string;
  settleMs?: number;
  clock?: Clock;
  ids?: Ids;
  logger?: Logger;
}

const EventJobPayloadSchema = z.object({ body: z.string(), receivedAt: z.string() });
const AlertJobPayloadSchema = z.object({ batchId: z.string() });

/** Handlers to register with the worker: `{ ...await createPromptEventHandlers(deps) }`. */
export async function createPromptEventHandlers(deps: PromptEventsDeps): Promise<{
  [PROMPT_EVENT_JOB]: JobHandler<PromptEventJobPayload>;
  [PROMPT_ALERT_JOB]: JobHandler<{ batchId: string }>;
}> {
  const clock = deps.clock ?? systemClock;
  const ids = deps.ids ?? systemIds;
  const logger = deps.logger ?? createSilentLogger();
  const settleMs = deps.settleMs ?? DEFAULT_SETTLE_MS;
  const events = await deps.store.collection<LangfuseEventDoc>('langfuse_events', [
    { fields: { promptName: 1, receivedAt: -1 } },
  ]);
  const batches = await deps.store.collection<ChangeBatchDoc>('prompt_change_batches', [
    { fields: { openKey: 1 }, unique: true, sparse: true },
    { fields: { eventIds: 1 } },
  ]);
  const labelState = await deps.store.collection<LabelStateDoc>('prompt_label_state', [
    { fields: { name: 1 } },
  ]);
  const alerts = await deps.store.collection<AlertRecordDoc>('prompt_alerts');
  const actions = await openPromptActions(deps.store);

  async function record(parsed: LangfuseWebhookEvent, body: string, receivedAt: Date): Promise<void> {
    const e = parsed.event;
    const prompt = parsed.kind === 'prompt-version' ? parsed.event : undefined;
    await events.updateOne(
      { _id: e.id },
      {
        $setOnInsert: {
          type: e.type,
          receivedAt,
          ...(e.timestamp ? { timestamp: e.timestamp } : {}),
          ...(prompt
            ? { promptName: prompt.prompt.name, version: prompt.prompt.version, action: prompt.action }
            : {}),
          body,
        },
      },
      { upsert: true },
    );
  }

  async function enqueueAlert(batch: Pick<ChangeBatchDoc, '_id' | 'settleAt'>): Promise<void> {
    await deps.queue.enqueue({
      type: PROMPT_ALERT_JOB,
      payload: { batchId: batch._id },
      idempotencyKey: `prompt-alert:${batch._id}`,
      runAt: batch.settleAt,
      // Slack may be down for a while: retry with backoff long enough to ride out an outage.
      maxAttempts: 8,
    });
  }

  /** Adds an event to the prompt's open batch (opening one if needed); safe to repeat for the same event. */
  async function attach(event: PromptVersionEvent): Promise<void> {
    const already = await batches.findOne({ eventIds: event.id });
    if (already) return enqueueAlert(already);
    const name = event.prompt.name;
    for (let tries = 0; tries < 5; tries++) {
      const open = await batches.findOneAndUpdate({ openKey: name }, { $push: { eventIds: event.id } });
      if (open) return;
      const now = clock.now();
      const batch: ChangeBatchDoc = {
        _id: ids.newId('pcb'),
        name,
        openKey: name,
        eventIds: [event.id],
        status: 'open',
        openedAt: now,
        settleAt: new Date(now.getTime() + settleMs),
      };
      try {
        await batches.insertOne(batch);
        return enqueueAlert(batch);
      } catch (err) {
        // Another worker opened the batch for this prompt first: join it.
        if (!isArbiterError(err, 'STORE_DUPLICATE_KEY')) throw err;
      }
    }
    throw new Error(`could not attach event ${event.id} to a change batch of ${name}`);
  }

  /** Posts a message once per key: see the guarantee at the top of this file. */
  async function postOnce(key: string, channel: string, message: Message): Promise<AlertRecordDoc> {
    const now = clock.now();
    let rec = await alerts.findOne({ _id: key });
    if (!rec) {
      await alerts.updateOne(
        { _id: key },
        { $setOnInsert: { status: 'posting', channel, threadPosted: 0, createdAt: now } },
        { upsert: true },
      );
      rec = (await alerts.findOne({ _id: key }))!;
    }
    const thread = message.thread ?? [];
    let ref: PostedRef | undefined = rec.ts ? { channel: rec.channel ?? channel, ts: rec.ts } : undefined;
    const mainKey = `prompt-alert:${key}`;
    if (!ref && rec.status !== 'posted') {
      const { thread: _omit, ...main } = message;
      ref = (await deliverLater(deps.transport, [{ key: mainKey, op: 'post', channel, message: main }])).get(
        mainKey,
      );
      // Recorded for the outbox (no ts yet: the replies are threaded under it by its key) or posted (its ts).
      await alerts.updateOne(
        { _id: key },
        {
          $set: {
            status: 'posted',
            channel: ref?.channel ?? channel,
            ...(ref ? { ts: ref.ts } : {}),
            postedAt: clock.now(),
          },
        },
      );
    }
    for (let i = rec.threadPosted; i < thread.length; i++) {
      await deliverLater(deps.transport, [
        {
          key: `${mainKey}:thread:${i}`,
          op: 'post',
          channel: ref?.channel ?? rec.channel ?? channel,
          ...(ref ? { threadTs: ref.ts } : { of: mainKey }),
          message: thread[i]!,
        },
      ]);
      await alerts.updateOne({ _id: key }, { $set: { threadPosted: i + 1 } });
    }
    return (await alerts.findOne({ _id: key }))!;
  }

  async function skip(key: string, reason: string): Promise<void> {
    await alerts.updateOne(
      { _id: key },
      { $setOnInsert: { status: 'skipped', threadPosted: 0, createdAt: clock.now(), reason } },
      { upsert: true },
    );
  }

  async function versionContent(
    name: string,
    version: number,
    inBatch: ReadonlyMap<number, LangfusePrompt>,
    ctx: JobContext,
  ): Promise<{ ok: true; prompt: LangfusePrompt } | { ok: false; reason: string }> {
    const local = inBatch.get(version);
    if (local) return { ok: true, prompt: local };
    if (!deps.cache)
      return { ok: false, reason: `v${version} is not in the webhook and Langfuse API keys are not set` };
    const res = await deps.cache.get(name, { version });
    if (res.ok) return { ok: true, prompt: res.value.prompt };
    if (res.error.code === 'LANGFUSE_NOT_FOUND')
      return { ok: false, reason: `v${version} no longer exists in Langfuse` };
    // Langfuse down: retry the job while attempts remain rather than post a diff-less alert at once.
    if (res.error.retryable && ctx.job.attempts < ctx.job.maxAttempts) throw res.error;
    return { ok: false, reason: `could not read v${version} from Langfuse (${res.error.code})` };
  }

  async function suiteButtons(
    change: PromptChange,
    alertKey: string,
    watching: Awaited<ReturnType<WatchingSuites['suitesWatching']>>,
  ) {
    const out: SuiteButton[] = [];
    const focusLive = !change.deleted.includes(change.focus);
    if (!focusLive) return out;
    const production = change.moves.find((m) => m.label === 'production');
    const previousProduction = production?.to === change.focus ? production.from : undefined;
    for (const s of watching) {
      const runToken = actionToken(alertKey, 'run_suite', s.name);
      const compareToken = actionToken(alertKey, 'compare_production', s.name);
      const base = { suite: s.name, prompt: change.name, version: change.focus, createdAt: clock.now() };
      const put = (doc: PromptAction) =>
        actions.updateOne({ _id: doc._id }, { $setOnInsert: { ...doc } }, { upsert: true });
      await put({ _id: runToken, kind: 'run_suite', ...base });
      await put({
        _id: compareToken,
        kind: 'compare_production',
        ...base,
        ...(previousProduction === undefined ? {} : { previousProduction }),
      });
      out.push({ suite: s.name, runToken, compareToken });
    }
    return out;
  }

  const eventHandler: JobHandler<PromptEventJobPayload> = {
    payload: EventJobPayloadSchema,
    async run(payload, ctx) {
      let json: unknown;
      try {
        json = JSON.parse(payload.body);
      } catch {
        throw new PermanentJobError('stored webhook body is not JSON');
      }
      const parsed = parseWebhookEvent(json);
      if (!parsed.ok) throw new PermanentJobError(`stored webhook body is malformed: ${parsed.error}`);
      await record(parsed.value, payload.body, new Date(payload.receivedAt));
      const v = parsed.value;
      if (v.kind === 'prompt-version') {
        deps.cache?.invalidate(v.event.prompt.name);
        await attach(v.event);
        return {
          kind: v.kind,
          prompt: v.event.prompt.name,
          version: v.event.prompt.version,
          action: v.event.action,
        };
      }
      if (v.kind === 'monitor-alert') {
        const channel = deps.monitorChannel ?? deps.channelFor('');
        const key = `event:${v.event.id}`;
        if (!channel) {
          await skip(key, 'no alert channel configured');
          ctx.logger.warn(
            { event: v.event.id },
            'Langfuse monitor alert received but no alert channel is configured',
          );
          return { kind: v.kind, posted: false };
        }
        await postOnce(key, channel, monitorAlertMessage(v.event));
        return { kind: v.kind, posted: true };
      }
      ctx.logger.info(
        { event: v.event.id, type: v.event.type },
        'Langfuse webhook of an unknown type recorded and ignored',
      );
      return { kind: 'unknown', type: v.event.type };
    },
  };

  const alertHandler: JobHandler<{ batchId: string }> = {
    payload: AlertJobPayloadSchema,
    async run({ batchId }, ctx) {
      let batch = await batches.findOne({ _id: batchId });
      if (!batch) throw new PermanentJobError(`change batch ${batchId} not found`);
      if (batch.status === 'open') {
        batch =
          (await batches.findOneAndUpdate(
            { _id: batchId, status: 'open' },
            { $unset: { openKey: true }, $set: { status: 'closed', closedAt: clock.now() } },
          )) ?? (await batches.findOne({ _id: batchId }))!;
      }
      const docs = await events.find({ _id: { $in: [...new Set(batch.eventIds)] } });
      const parsedEvents = docs
        .map((d) =>
          parseWebhookEvent(
            parseStoredJson(z.unknown(), d.body, { collection: 'langfuse_events', id: d._id, field: 'body' }),
          ),
        )
        .flatMap((r) => (r.ok && r.value.kind === 'prompt-version' ? [r.value.event] : []));
      let change = batch.change;
      if (!change) {
        const known = new Map<number, string[]>(
          (await labelState.find({ name: batch.name })).map((d) => [d.version, d.labels]),
        );
        change = summarizeChange(batch.name, parsedEvents.map(toVersionEvent), known);
        await batches.updateOne({ _id: batchId }, { $set: { change } });
      }
      // Idempotent: the stored summary says what the state is after this batch.
      for (const s of change.stateAfter) {
        const _id = `${change.name}@${s.version}`;
        if (s.labels === null) await labelState.deleteOne({ _id });
        else
          await labelState.updateOne(
            { _id },
            { $set: { name: change.name, version: s.version, labels: s.labels, updatedAt: clock.now() } },
            { upsert: true },
          );
      }

      const alertKey = `batch:${batchId}`;
      const channel = deps.channelFor(change.name);
      const existing = await alerts.findOne({ _id: alertKey });
      if (!channel && !existing) {
        await skip(alertKey, 'no alert channel configured');
        ctx.logger.warn(
          { prompt: change.name },
          'prompt changed but no alert channel is configured (PROMPT_ALERTS_CHANNEL)',
        );
      } else if (existing?.status !== 'skipped') {
        const inBatch = new Map(
          parsedEvents
            .filter((e) => e.action !== 'deleted')
            .map((e) => [e.prompt.version, e.prompt] as const),
        );
        let diff: AlertDiff;
        let focusType: LangfusePrompt['type'] | undefined;
        if (!change.deleted.includes(change.focus) && (change.created.length > 0 || change.baseline)) {
          const after = await versionContent(change.name, change.focus, inBatch, ctx);
          if (after.ok) focusType = after.prompt.type;
          if (!after.ok) diff = { ok: false, reason: after.reason };
          else if (!change.baseline)
            diff = { ok: true, diff: diffPrompts(undefined, after.prompt as PromptContent) };
          else {
            const before = await versionContent(change.name, change.baseline.version, inBatch, ctx);
            diff = before.ok
              ? { ok: true, diff: diffPrompts(before.prompt, after.prompt) }
              : { ok: false, reason: before.reason };
          }
        }
        const watching = deps.suites ? await deps.suites.suitesWatching(change.name) : [];
        const projectId = parsedEvents.find((e) => e.prompt.projectId)?.prompt.projectId;
        const message = buildPromptAlert({
          change,
          diff,
          ...(focusType ? { promptType: focusType } : {}),
          suites: await suiteButtons(change, alertKey, watching),
          ...(deps.langfuseBaseUrl && projectId
            ? {
                link: `${deps.langfuseBaseUrl.replace(/\/+$/, '')}/project/${projectId}/prompts/${encodeURIComponent(change.name)}?version=${change.focus}`,
              }
            : {}),
        });
        await postOnce(alertKey, channel ?? existing!.channel!, message);
      }

      const started = await autoRun(change, batchId);
      return { prompt: change.name, focus: change.focus, moves: change.moves.length, autoRuns: started };
    },
  };

  async function autoRun(change: PromptChange, batchId: string): Promise<string[]> {
    if (!deps.suites || !deps.launcher) return [];
    const started: string[] = [];
    for (const s of await deps.suites.suitesWatching(change.name)) {
      if (s.onChange !== 'run') continue;
      const watched = s.labels ?? ['production'];
      const move = change.moves.find(
        (m) => watched.includes(m.label) && m.to !== undefined && (m.certain || m.from !== undefined),
      );
      if (!move) continue;
      const { runId } = await deps.launcher.startRun(s.name, {
        prompt: { name: change.name, version: move.to! },
        reason: 'auto',
        idempotencyKey: `prompt-autorun:${batchId}:${s.name}`,
      });
      logger.info(
        { suite: s.name, prompt: change.name, version: move.to, runId },
        'suite started by a prompt label move',
      );
      started.push(runId);
    }
    return started;
  }

  return { [PROMPT_EVENT_JOB]: eventHandler, [PROMPT_ALERT_JOB]: alertHandler };
}

function toVersionEvent(e: PromptVersionEvent): VersionEvent {
  return {
    eventId: e.id,
    action: e.action,
    version: e.prompt.version,
    labels: e.prompt.labels,
    tags: e.prompt.tags,
    timestamp: e.timestamp,
    user: userName(e.user, e.prompt.createdBy),
    commitMessage: e.prompt.commitMessage,
  };
}

/** The forwarded alert for a Langfuse `monitor-alert` event (its shape is not documented: show it whole). */
export function monitorAlertMessage(
  event: { id: string; type: string; timestamp?: string | undefined } & Record<string, unknown>,
): Message {
  const { id, type, timestamp, apiVersion: _v, ...rest } = event;
  const name =
    typeof rest.name === 'string' ? rest.name : typeof rest.monitor === 'string' ? rest.monitor : undefined;
  const json = JSON.stringify(rest, null, 2);
  return {
    title: `Langfuse monitor alert${name ? `: ${name}` : ''}`,
    summary: `Langfuse monitor alert${name ? ` ${name}` : ''} (${id})`,
    sections: [
      {
        kind: 'fields',
        fields: [
          { label: 'Event', value: id },
          { label: 'Type', value: type },
          ...(timestamp ? [{ label: 'At', value: timestamp }] : []),
        ],
      },
      { kind: 'code', text: json.length > 2500 ? `${json.slice(0, 2500)}\n…` : json },
    ],
  };
}

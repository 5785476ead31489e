// The narrow seams between prompt alerts and evaluation runs (runs/ is built separately): which suites watch a
// prompt, how to start a run, and the buttons' opaque tokens. The lead wires real implementations.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { ActionHandler } from '../chat/index.ts';
import { escapeMrkdwn, type Message } from '../chat/index.ts';
import type { Clock, Logger } from '../config/index.ts';
import type { Collection, DocumentStore } from '../storage/index.ts';

/** A suite that declares `watch: { prompts: [name], labels?: [...], onChange?: run }`. */
export interface WatchingSuite {
  name: string;
  file?: string;
  /** `run`: start by itself when a watched label moves to another version. */
  onChange?: 'run';
  /** Labels whose moves count for onChange; default ['production']. */
  labels?: string[];
}

/** Finds suites watching a prompt (runs/ implements it over SUITES_DIR). */
export interface WatchingSuites {
  suitesWatching(promptName: string): WatchingSuite[] | Promise<WatchingSuite[]>;
}

/** What a run launched from a prompt change evaluates. */
export interface RunLaunchOptions {
  /** Run the suite with this prompt version in place of the one its target names. */
  prompt: { name: string; version: number };
  reason: 'button' | 'auto' | 'compare';
  /** The same key twice must start one run (button double-clicks, job retries). */
  idempotencyKey: string;
  requestedBy?: string;
}

/** Starts evaluation runs (runs/ implements it by enqueuing its run job). */
export interface RunLauncher {
  startRun(suiteName: string, options: RunLaunchOptions): Promise<{ runId: string }>;
}

/** Opens a blind pairwise review of two runs (reviews/ implements it; not built yet). */
export interface BlindReviewOpener {
  openBlindReview(input: {
    suite: string;
    runA: string;
    runB: string;
    prompt: string;
  }): Promise<{ reviewId: string }>;
}

/** Action ids of the alert's buttons (bot/ routes Slack block actions with these ids here). */
export const PROMPT_ACTION_IDS = {
  runSuite: 'prompt:run_suite',
  compareProduction: 'prompt:compare_production',
} as const;

/** What a button token stands for; stored so button values stay short and never carry raw names. */
export const PromptActionSchema = z.object({
  _id: z.string(),
  kind: z.enum(['run_suite', 'compare_production']),
  suite: z.string(),
  prompt: z.string(),
  version: z.number().int(),
  /** For compare: the version production pointed to before this change, when known. */
  previousProduction: z.number().int().optional(),
  createdAt: z.date(),
});
export type PromptAction = z.infer<typeof PromptActionSchema>;

/** Opens the collection of button tokens. */
export function openPromptActions(store: DocumentStore): Promise<Collection<PromptAction>> {
  return store.collection<PromptAction>('prompt_actions');
}

/** A deterministic token for a button, so a retried alert job stores the same token, not a second one. */
export function actionToken(alertKey: string, kind: PromptAction['kind'], suite: string): string {
  return `pa_${createHash('sha256').update(`${alertKey}\u0000${kind}\u0000${suite}`).digest('base64url').slice(0, 22)}`;
}

/** What handlePromptAction needs. */
export interface PromptActionDeps {
  actions: Collection<PromptAction>;
  launcher: RunLauncher;
  /** Where production points now (for compare when the previous holder is unknown). */
  productionVersion(promptName: string): Promise<number | undefined>;
  reviews?: BlindReviewOpener;
  clock: Clock;
  logger: Logger;
}

/** Handles a click on Run <suite> or Compare with production; returns the reply to show the user. */
export async function handlePromptAction(
  deps: PromptActionDeps,
  input: { actionId: string; value: string; user: string },
): Promise<Message> {
  const doc = await deps.actions.findOne({ _id: input.value });
  const parsed = PromptActionSchema.safeParse(doc);
  if (!parsed.success) return note('This button has expired or is unknown.', true);
  const a = parsed.data;
  if (a.kind === 'run_suite') {
    const { runId } = await deps.launcher.startRun(a.suite, {
      prompt: { name: a.prompt, version: a.version },
      reason: 'button',
      idempotencyKey: `prompt-button:${a._id}`,
      requestedBy: input.user,
    });
    return note(`Started ${a.suite} on ${a.prompt} v${a.version} (run ${runId}).`);
  }
  const production = await deps.productionVersion(a.prompt);
  const baseline = production !== undefined && production !== a.version ? production : a.previousProduction;
  if (baseline === undefined || baseline === a.version) {
    return note(
      `Nothing to compare: ${a.prompt} v${a.version} is production and no earlier production version is known.`,
      true,
    );
  }
  const start = (version: number, side: string) =>
    deps.launcher.startRun(a.suite, {
      prompt: { name: a.prompt, version },
      reason: 'compare',
      idempotencyKey: `prompt-compare:${a._id}:${side}`,
      requestedBy: input.user,
    });
  const [candidate, base] = await Promise.all([start(a.version, 'candidate'), start(baseline, 'production')]);
  if (!deps.reviews) {
    return note(
      `Started ${a.suite} on v${a.version} (run ${candidate.runId}) and on production v${baseline} (run ${base.runId}). ` +
        'A blind review of the two runs opens once reviews are available.',
    );
  }
  const { reviewId } = await deps.reviews.openBlindReview({
    suite: a.suite,
    runA: candidate.runId,
    runB: base.runId,
    prompt: a.prompt,
  });
  return note(
    `Comparing v${a.version} with production v${baseline} on ${a.suite}: blind review ${reviewId} opens when both runs finish.`,
  );
}

/** A note; `text` is plain (suite and prompt names come from YAML and Langfuse): escaped once here. */
function note(text: string, ephemeral = false): Message {
  return {
    title: 'Prompt change',
    sections: [{ kind: 'text', text: escapeMrkdwn(text) }],
    summary: text,
    ...(ephemeral ? { ephemeral } : {}),
  };
}

/** Where a prompt's `production` label points, from the label state the webhook keeps, else from Langfuse. */
export function createProductionVersionLookup(deps: {
  store: DocumentStore;
  cache?: { get(name: string, selector?: { label?: string }): Promise<{ ok: boolean; value?: unknown }> };
}): (promptName: string) => Promise<number | undefined> {
  return async (promptName) => {
    const states = await deps.store.collection<{
      _id: string;
      name: string;
      version: number;
      labels: string[];
    }>('prompt_label_state');
    const held = await states.findOne({ name: promptName, labels: 'production' });
    if (held) return held.version;
    if (!deps.cache) return undefined;
    const got = await deps.cache.get(promptName, { label: 'production' });
    const version = got.ok ? (got.value as { prompt?: { version?: unknown } }).prompt?.version : undefined;
    return typeof version === 'number' ? version : undefined;
  };
}

/** The prompt alert's buttons (Run <suite>, Compare with production) as an action handler; launching is for admins. */
export function createPromptActionHandler(deps: PromptActionDeps): ActionHandler {
  return {
    prefix: 'prompt',
    role: 'admin',
    async handle(input, ctx) {
      const message = await handlePromptAction(deps, { ...input, user: ctx.user });
      // Starting something is news for the channel (in the alert's thread); "expired" or "nothing to compare" is not.
      return message.ephemeral ? { ephemeral: message } : { reply: message };
    },
  };
}

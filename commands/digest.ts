// The `digest` command (Slack and console) and `arbiter digest` (CLI), and the adapters that feed digests from
// the monitor tick log and stored runs. Reviews are adapted by whoever wires them (the port's optional members).
import { type AuditActor, cliActor } from '../audit/index.ts';
import {
  ArbiterError,
  createSilentLogger,
  type Env,
  formatUserError,
  isCodedError,
  type Logger,
  warningNotes,
} from '../config/index.ts';
import {
  type Digest,
  type DigestDeps,
  type DigestInputs,
  type DigestRun,
  type DigestTick,
  loadDigests,
  type PostOutcome,
  periodLabel,
  postDigest,
  previewDigest,
} from '../digests/index.ts';
import { humanAdjustments, type MonitorReviewStore, type TickLog } from '../monitors/index.ts';
import { type Run, runOutcome } from '../runs/index.ts';
import {
  createTextTransport,
  escapeMrkdwn,
  type Message,
  type MessageSection,
  messageToText,
  plainText,
} from '../chat/index.ts';
import type { Transport } from '../chat/index.ts';
import { contextSection } from './messages.ts';
import type { CliServices } from './services.ts';

/** Feeds digests from the monitor tick log and stored runs (RunService or RunRepository both fit). */
export function createDigestInputs(sources: {
  tickLog: Pick<TickLog, 'listTicks'>;
  runs: { finishedBetween(from: Date, to: Date): Promise<Run[]> };
  /** Human decisions on `needs_review` scores (monitor_reviews): applied on top of the judge's values. */
  reviews?: Pick<MonitorReviewStore, 'decidedBetween'>;
  reviewsClosed?: DigestInputs['reviewsClosed'];
  leaderboard?: DigestInputs['leaderboard'];
}): DigestInputs {
  return {
    async monitorTicks(from, to) {
      const [docs, decided] = await Promise.all([
        sources.tickLog.listTicks(from, to),
        sources.reviews ? sources.reviews.decidedBetween(from, to) : [],
      ]);
      const adjustments = humanAdjustments(decided);
      return docs.map((d): DigestTick => {
        const adj = adjustments.forTick(d.monitor, d.tickTime);
        return {
          monitor: d.monitor,
          tickTime: d.tickTime,
          status: d.status,
          scored: d.scored,
          failing: d.failing,
          metrics: adj
            ? d.metrics.map((m) => ({ ...m, sum: m.sum + (adj.delta.get(m.metric) ?? 0) }))
            : d.metrics,
          worst: adj
            ? d.worst.map((w) => ({ ...w, value: adj.valueOf(w.itemId, w.metric) ?? w.value }))
            : d.worst,
          alerts: d.alerts,
          ...(adj ? { humanDecisions: adj.decisions } : {}),
        };
      });
    },
    async runsFinished(from, to) {
      const runs = await sources.runs.finishedBetween(from, to);
      return runs
        .filter((r) => r.finishedAt !== undefined)
        .map((r): DigestRun => {
          // An errored run has no quality verdict: it is neither counted as failing its gate nor listed as FAILED.
          const outcome = runOutcome(r);
          return {
            id: r._id,
            suite: r.suiteName,
            status: r.status,
            passed:
              outcome === 'passed' ? true : outcome === 'failed' && r.status === 'completed' ? false : null,
            ...(outcome === 'errored' ? { errored: true } : {}),
            meanScore: r.summary?.meanScore ?? null,
            finishedAt: r.finishedAt!,
          };
        });
    },
    ...(sources.reviewsClosed ? { reviewsClosed: sources.reviewsClosed } : {}),
    ...(sources.leaderboard ? { leaderboard: sources.leaderboard } : {}),
  };
}

/** A configured digest with the warnings its file loaded with (old forms), shown where it is used. */
export type DigestSpec = Digest & { warnings?: readonly string[] | undefined };

/** What the `digest` command needs: the configured digests and what posting them needs. */
export interface DigestCommandDeps {
  specs: readonly DigestSpec[];
  deps: DigestDeps;
}

/** The load warnings of the digest files a command used, as one context section (none without warnings). */
function warningSection(specs: readonly DigestSpec[]): MessageSection[] {
  return contextSection(warningNotes(specs.flatMap((s) => s.warnings ?? [])));
}

const MAX_PREVIEW_SECTIONS = 40;

/** A note whose `text` is our mrkdwn (values in it escaped); the summary is its plain text. */
function note(title: string, text: string, extra: MessageSection[] = []): Message {
  return { title, summary: plainText(text), sections: [{ kind: 'text', text }, ...extra], ephemeral: true };
}

/** One line saying how posting one digest went. */
export function describeOutcome(spec: Digest, outcome: PostOutcome, plain = false): string {
  const esc = plain ? (t: string) => t : escapeMrkdwn;
  const name = plain ? spec.name : `*${escapeMrkdwn(spec.name)}*`;
  const when = periodLabel(outcome.period);
  switch (outcome.status) {
    case 'posted':
      return `${name}: posted to ${esc(spec.channel)} for ${when}${outcome.resumed ? ' (resumed an interrupted post)' : ''}.`;
    case 'already-posted':
      return `${name}: already posted for ${when}${outcome.postedAt ? ` at ${outcome.postedAt.toISOString()}` : ''}; not posted again.`;
    case 'busy':
      return `${name}: another replica is posting it for ${when} right now; not posted twice.`;
    case 'failed':
      return `${name}: could not post for ${when} (${esc(outcome.error)}); it is retried automatically.`;
  }
}

/**
 * Handles `digest [--period day|week]` (a preview of the last complete period, only for the asker, nothing posted)
 * and `digest now [--period day|week]` (posts every configured digest now, once per period).
 */
export async function handleDigest(
  command: { name?: string; now: boolean; period?: 'day' | 'week' | undefined },
  deps: DigestCommandDeps | undefined,
  actor?: AuditActor,
): Promise<Message> {
  if (!deps) return note('Digests', 'Digests are not set up in this process.');
  if (deps.specs.length === 0)
    return note(
      'Digests',
      'No digests are configured: add YAML files to DIGESTS_DIR (see examples/digests/).',
    );
  const periodKind = command.period;
  if (command.now) {
    const lines: string[] = [];
    for (const spec of deps.specs) {
      const outcome = await postDigest(spec, deps.deps, {
        ...(periodKind ? { periodKind } : {}),
        ...(actor ? { actor } : {}),
      });
      lines.push(describeOutcome(spec, outcome));
    }
    return note('Digests posted now', lines.join('\n'), warningSection(deps.specs));
  }
  const previews = await Promise.all(
    deps.specs.map((spec) => previewDigest(spec, deps.deps, periodKind ? { periodKind } : {})),
  );
  const warned = warningSection(deps.specs);
  if (previews.length === 1) {
    const { message } = previews[0]!;
    return { ...message, sections: [...message.sections, ...warned], ephemeral: true };
  }
  const sections: MessageSection[] = [];
  for (const [i, p] of previews.entries()) {
    if (sections.length >= MAX_PREVIEW_SECTIONS) break;
    if (i > 0) sections.push({ kind: 'divider' });
    sections.push({ kind: 'text', text: `*${escapeMrkdwn(p.message.title)}*` }, ...p.message.sections);
  }
  return {
    title: `Digest previews (${previews.length})`,
    summary: previews.map((p) => p.message.summary ?? p.message.title).join(' · '),
    sections: [...sections.slice(0, MAX_PREVIEW_SECTIONS), ...warned],
    thread: previews.flatMap((p) => p.message.thread ?? []),
    ephemeral: true,
  };
}

/** Said when `arbiter digest` is run with neither --post nor --dry-run: it still posts, for this release only. */
export const DIGEST_POST_WARNING =
  'warning: `arbiter digest` without --post still posts in this release; from the next one it previews, as `/arbiter digest` does. Add --post to post, or --dry-run to preview.';

/** What the digest CLI needs: the CLI services (app/) build the digest deps; tests inject a transport. */
export interface DigestCliDeps {
  env: Env;
  io: { stdout(text: string): void; stderr(text: string): void };
  services: Pick<CliServices, 'digests'>;
  transport?: Transport;
  logger?: Logger;
}

/**
 * `arbiter digest` with its arguments, as the command registry (commands/table.ts) parsed and validated them (`now`
 * is `--post` or `digest now`; `only` is `--name`): this file reads no argv.
 */
export interface DigestCliCommand {
  now: boolean;
  period?: 'day' | 'week' | undefined;
  only?: string | undefined;
  dryRun?: boolean | undefined;
}

/** Runs one `arbiter digest …` invocation; errors become one line on stderr and an exit code. */
export async function runDigestCli(cmd: DigestCliCommand, deps: DigestCliDeps): Promise<number> {
  const { env, io } = deps;
  const logger = deps.logger ?? createSilentLogger();
  try {
    const { period, only: name } = cmd;
    const dryRun = cmd.dryRun === true;
    if (!dryRun && !cmd.now) io.stderr(`${DIGEST_POST_WARNING}\n`);
    const all = loadDigests(env.DIGESTS_DIR);
    const loaded = name ? all.filter((l) => l.value.name === name) : all;
    if (name && loaded.length === 0)
      throw new ArbiterError(
        'NOT_FOUND',
        `No digest named "${name}" in ${env.DIGESTS_DIR}. Known: ${all.map((l) => l.value.name).join(', ') || '(none)'}.`,
      );
    // Old forms of the files used still load, with a warning on stderr naming the file, line and the new form.
    for (const w of loaded.flatMap((l) => l.warnings)) io.stderr(`warning: ${w}\n`);
    const specs = loaded.map((l) => l.value);
    if (specs.length === 0) {
      io.stderr(`No digests in ${env.DIGESTS_DIR}: add a YAML file (see examples/digests/daily.yaml).\n`);
      return 2;
    }
    const digestDeps = await deps.services.digests(
      deps.transport ?? createTextTransport(io.stdout, { channels: true }),
    );
    let failed = false;
    for (const spec of specs) {
      if (dryRun) {
        const built = await previewDigest(spec, digestDeps, {
          renderChart: true,
          ...(period ? { periodKind: period } : {}),
        });
        io.stdout(
          `${messageToText({ ...built.message, title: `[dry run → ${spec.channel}] ${built.message.title}` })}\n`,
        );
        if (built.chartPath) io.stdout(`  ↳ chart: ${built.chartPath}\n`);
        continue;
      }
      const outcome = await postDigest(spec, digestDeps, {
        ...(period ? { periodKind: period } : {}),
        actor: cliActor(env),
      });
      if (outcome.status === 'failed') failed = true;
      io.stdout(`${describeOutcome(spec, outcome, true)}\n`);
    }
    return failed ? 3 : 0;
  } catch (err) {
    io.stderr(`${formatUserError(err)}\n`);
    if (!isCodedError(err)) logger.error({ err }, 'digest command failed');
    return isCodedError(err) ? err.exitCode : 3;
  }
}

// Run results as transport-neutral Messages (Slack, the console, the CLI's text): the summary with its thread of
// errored and failing items, the comparison of two runs, the one-line verdict and the progress bar.
import { escapeMrkdwn, type Message, type MessageSection } from '../chat/index.ts';
import {
  langfuseRunName,
  type Run,
  type RunComparison,
  type RunItemView,
  type RunProgress,
} from '../runs/index.ts';

/** A progress bar line for a terminal. */
export function progressBar(p: RunProgress, width = 30): string {
  const frac = p.total ? p.done / p.total : 0;
  const filled = Math.round(frac * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${p.done}/${p.total}  errors ${p.errors}  mean ${p.meanScore === null ? '—' : p.meanScore.toFixed(3)}`;
}

const pct = (x: number | null | undefined) =>
  x === null || x === undefined ? '—' : `${(x * 100).toFixed(1)}%`;
const num = (x: number | null | undefined, d = 3) => (x === null || x === undefined ? '—' : x.toFixed(d));
const usd = (x: number) => `$${x.toFixed(x < 1 ? 4 : 2)}`;
const signed = (x: number | null, d = 3) => (x === null ? '—' : `${x >= 0 ? '+' : ''}${x.toFixed(d)}`);
const clip = (s: string, n: number) => {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length > n ? `${t.slice(0, n - 1)}…` : t;
};

function duration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

const CAUSE_WORDS: Record<string, string> = {
  target: 'target failed',
  provider: 'model provider failed',
  input: 'missing input',
  metric: 'metric could not score',
};

/** The errored items by cause, e.g. "12 model provider failed, 1 missing input". */
export function describeErrorCauses(causes: Partial<Record<string, number>>): string {
  return Object.entries(causes)
    .filter(([, n]) => (n ?? 0) > 0)
    .map(([cause, n]) => `${n} ${CAUSE_WORDS[cause] ?? cause}`)
    .join(', ');
}

/** One-line verdict of a run. */
export function runVerdict(run: Run): string {
  const s = run.summary;
  if (run.status === 'cancelled') return `CANCELLED after ${run.progress.done}/${run.progress.total} items`;
  if (run.status !== 'completed' || !s)
    return `${run.status} (${run.progress.done}/${run.progress.total} items)`;
  const g = s.gate;
  const offline =
    s.heuristicOutputs > 0
      ? ` (offline: no language model was called for ${s.heuristicOutputs} answer${s.heuristicOutputs === 1 ? '' : 's'})`
      : '';
  if (s.missing > 0)
    return `ERROR: ${s.missing} of ${s.total} items were never stored, so never ran (the store lost them); no quality verdict. Start the run again with \`arbiter run --new\`.`;
  if (g.verdict === 'errored') {
    const kind = g.errorKind === 'scoring' ? 'NOT SCORED' : 'ERROR';
    return `${kind}: ${s.errors} of ${s.finished} items errored (${describeErrorCauses(s.errorCauses)}), more than the ${g.maxErrors} tolerated; no quality verdict${offline}`;
  }
  const tolerated = s.errors > 0 ? `; ${s.errors} errored item(s) tolerated` : '';
  const checks = g.checks ?? [{ kind: g.kind, threshold: g.threshold, value: g.value, passed: g.passed }];
  const checkText = (c: (typeof checks)[number]) => {
    const label = c.kind === 'pass-rate' ? 'pass rate' : 'mean score';
    const all =
      c.kind === 'pass-rate' && c.threshold === 1 && !c.passed
        ? ` (every item must pass; ${s.failed} failed)`
        : '';
    return `${label} ${num(c.value)} ${c.passed ? '≥' : '<'} threshold ${c.threshold}${all}`;
  };
  // The failing check first: it is the reason.
  const shown = [...checks].sort((a, b) => Number(a.passed) - Number(b.passed));
  return `${g.passed ? 'PASSED' : 'FAILED'}: ${shown.map(checkText).join(', ')}${tolerated}${offline}`;
}

function tokensText(s: NonNullable<Run['summary']>): string {
  const b = s.tokens.byRole;
  if (!b) return `${s.tokens.input} in / ${s.tokens.output} out`;
  const part = (label: string, t: { input: number; output: number }) =>
    t.input + t.output > 0 ? `${label} ${t.input}/${t.output}` : undefined;
  const parts = [part('target', b.target), part('simulator', b.simulator), part('judge', b.judge)].filter(
    (x): x is string => x !== undefined,
  );
  return `${s.tokens.input} in / ${s.tokens.output} out${parts.length ? ` (${parts.join(', ')})` : ''}`;
}

function costText(s: NonNullable<Run['summary']>): string {
  if (!s.costUnknown) return usd(s.costUsd);
  return s.costUsd > 0 ? `${usd(s.costUsd)} + price unknown for some calls` : 'price unknown';
}

const THREAD_ITEMS = 10;

/**
 * How the run got into Langfuse (runs of a Langfuse dataset), said once in the report: linked as an experiment run,
 * or how many items did not get there and why (the run's verdict never depends on it).
 */
export function langfuseNote(run: Pick<Run, '_id' | 'suiteName' | 'langfuse'>): string | undefined {
  const lf = run.langfuse;
  if (!lf || lf.publishedAt === undefined) return undefined;
  const name = `experiment run "${langfuseRunName(run)}" of dataset ${lf.datasetName}`;
  if (!lf.failed) return `Langfuse: ${lf.linked ?? 0} item(s) linked as ${name}.`;
  return `Langfuse: ${lf.failed} item(s) not linked as ${name}${lf.lastError ? ` (${clip(lf.lastError, 300)})` : ''}; the verdict does not depend on it. \`arbiter runs publish ${run._id}\` sends what is missing.`;
}

/** A run's summary as a Message; errored items, then failing ones, go in the thread. */
export function renderRunSummary(run: Run, items: readonly RunItemView[] = []): Message {
  const s = run.summary;
  const sections: MessageSection[] = [{ kind: 'text', text: escapeMrkdwn(runVerdict(run)) }];
  sections.push({
    kind: 'fields',
    fields: [
      { label: 'Run', value: run._id },
      { label: 'Status', value: run.status },
      { label: 'Items', value: `${run.progress.done}/${run.total}` },
      { label: 'Mean score', value: num(s?.meanScore ?? run.progress.meanScore) },
      { label: 'Pass rate', value: pct(s?.passRate) },
      {
        label: 'Errored items',
        value: s
          ? `${s.errors}${s.errors ? ` (${describeErrorCauses(s.errorCauses)})` : ''}`
          : String(run.progress.errors),
      },
      { label: 'Needs review', value: String(s?.needsReview ?? 0) },
      { label: 'Tokens', value: s ? tokensText(s) : '—' },
      { label: 'Cost', value: s ? costText(s) : '—' },
      { label: 'Duration', value: s ? duration(s.durationMs) : '—' },
    ],
  });
  if (s && s.metrics.length > 0) {
    const width = Math.max(6, ...s.metrics.map((m) => m.metric.length));
    sections.push({
      kind: 'code',
      label: 'Mean per metric',
      text: s.metrics
        .map(
          (m) =>
            `${m.metric.padEnd(width)}  ${num(m.mean)}  (${m.count} scored${m.errors ? `, ${m.errors} could not score` : ''})${m.heuristic ? '  heuristic' : ''}`,
        )
        .join('\n'),
    });
  }
  const notes: string[] = [];
  if (s && s.heuristicOutputs > 0)
    notes.push(
      `Offline target: no language model was called for ${s.heuristicOutputs} answer(s); they are placeholders from the offline heuristic provider.`,
    );
  if (s?.heuristic) notes.push('Some scores come from the offline heuristic provider, not an LLM verdict.');
  if (run.datasetErrors.length > 0)
    notes.push(
      `${run.datasetErrors.length} dataset row(s) skipped: ${run.datasetErrors
        .slice(0, 5)
        .map((e) => `row ${e.row}: ${clip(e.reason, 120)}`)
        .join('; ')}${run.datasetErrors.length > 5 ? '; …' : ''}`,
    );
  if (run.error) notes.push(`Error: ${run.error}`);
  for (const w of run.warnings ?? []) notes.push(`Warning: ${w}`);
  const lf = langfuseNote(run);
  if (lf) notes.push(lf);
  if (notes.length) sections.push({ kind: 'context', items: notes });
  const errored = items.filter((v) => v.doc.status === 'error');
  const failing = items.filter((v) => v.doc.status === 'done' && !v.doc.passed);
  const listed = [...errored, ...failing];
  const thread: Message[] = listed.slice(0, THREAD_ITEMS).map((v) => ({
    title: `Row ${v.doc.row}${v.item.persona ? ` (${v.item.persona})` : ''}: ${v.doc.status === 'error' ? `errored (${CAUSE_WORDS[v.doc.errorCause ?? 'target'] ?? 'error'})` : `failed, score ${num(v.doc.score)}`}`,
    sections: [
      { kind: 'code', label: 'Input', text: clip(v.item.input, 1500) },
      ...(v.doc.error
        ? [{ kind: 'code' as const, label: 'Why it errored', text: clip(v.doc.error, 500) }]
        : []),
      ...(v.result?.output !== undefined || !v.doc.error
        ? [{ kind: 'code' as const, label: 'Output', text: clip(v.result?.output ?? '', 1500) }]
        : []),
      ...(v.result?.targetFinish
        ? [
            {
              kind: 'context' as const,
              items: [
                `The target's reply was ${v.result.targetFinish.reason}${v.result.targetFinish.detail ? ` (${v.result.targetFinish.detail})` : ''}.`,
              ],
            },
          ]
        : []),
      {
        kind: 'context',
        items: (v.result?.scores ?? [])
          .slice(0, 10)
          .map(
            (sc) => `${sc.metric}: ${sc.error ? 'could not score' : num(sc.value)} — ${clip(sc.reason, 200)}`,
          ),
      },
    ],
  }));
  if (listed.length > THREAD_ITEMS)
    thread.push({
      title: `${listed.length - THREAD_ITEMS} more errored or failing item(s)`,
      sections: [
        {
          kind: 'context',
          items: [`\`arbiter runs show ${run._id} --json\` lists every item with its scores.`],
        },
      ],
    });
  return {
    title: `Evaluation run: ${run.suiteName}`,
    summary: `${run.suiteName}: ${runVerdict(run)}`,
    sections,
    ...(thread.length ? { thread } : {}),
  };
}

/** A comparison as a Message. */
export function renderComparison(cmp: RunComparison): Message {
  const width = Math.max(6, ...cmp.metrics.map((m) => m.metric.length));
  const table = cmp.metrics.map(
    (m) =>
      `${m.metric.padEnd(width)}  ${num(m.meanA)} → ${num(m.meanB)}  Δ ${signed(m.delta)}  95% CI ${m.ci ? `[${signed(m.ci[0])}, ${signed(m.ci[1])}]` : '—'}  ` +
      `+${m.wins}/-${m.losses}/=${m.ties}  p ${m.pValue === null ? '—' : m.pValue.toPrecision(2)}${m.significant ? '  significant' : ''}`,
  );
  const list = (xs: RunComparison['regressions']) =>
    xs
      .map((d) => `${signed(d.delta)}  ${num(d.scoreA)} → ${num(d.scoreB)}  ${clip(d.input, 80)}`)
      .join('\n') || '(none)';
  const overall = cmp.metrics.find((m) => m.metric === 'score');
  const verdict =
    !overall || overall.delta === null
      ? 'No paired items to compare.'
      : `${overall.significant ? (overall.delta > 0 ? 'Better' : 'Worse') : 'No significant change'}: mean item score ${signed(overall.delta)} over ${overall.pairs} paired items.`;
  const notes = [
    `${cmp.paired} paired items; ${cmp.onlyInA} only in A, ${cmp.onlyInB} only in B. Δ is B − A; items pair by input; paired t 95% interval and exact two-sided sign test, significant only when both agree.`,
  ];
  if (!cmp.sameSuite) notes.push(`Warning: different suites (${cmp.a.suiteName} vs ${cmp.b.suiteName}).`);
  return {
    title: `Run comparison: ${cmp.a.id} → ${cmp.b.id}`,
    summary: verdict,
    sections: [
      { kind: 'text', text: escapeMrkdwn(verdict) },
      { kind: 'code', label: 'Per metric', text: table.join('\n') },
      { kind: 'code', label: 'Regressed most', text: list(cmp.regressions) },
      { kind: 'code', label: 'Improved most', text: list(cmp.improvements) },
      { kind: 'context', items: notes },
    ],
  };
}

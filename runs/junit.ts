// JUnit XML for CI: one testsuite per run, one testcase per item; a failure when a gating metric is below its
// threshold, an error when the item errored (its target failed or a metric could not score it).
import { readRunGate } from './stored-suite.ts';
import type { Run, RunItemView } from './types.ts';

/** Escapes text for XML and drops characters XML 1.0 cannot hold (control characters from model output). */
export function escapeXml(text: string): string {
  return text
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n)}…` : s);
const oneLine = (s: string) => s.replace(/\s+/g, ' ').trim();

/** Renders a run and its items as JUnit XML. */
export function renderJunit(run: Run, items: readonly RunItemView[]): string {
  const suite = readRunGate(run);
  const threshold = suite.threshold.score;
  const specs = new Map(suite.metrics.map((m) => [m.name, m]));
  const finished = items.filter((v) => v.doc.status !== 'pending');
  // Items the store lost never ran: one error case says so, so CI never reads a short run as a complete one.
  const missing = Math.max(0, run.total - items.length);
  const errors = finished.filter((v) => v.doc.status === 'error').length + (missing > 0 ? 1 : 0);
  const failures = finished.filter((v) => v.doc.status === 'done' && !v.doc.passed).length;
  const skipped = items.length - finished.length;
  const seconds = ((run.summary?.durationMs ?? 0) / 1000).toFixed(3);
  const name = escapeXml(run.suiteName);
  const cases = items.map((v) => {
    const title = escapeXml(
      `row ${v.doc.row}: ${clip(oneLine(v.item.input), 80)}${v.item.persona ? ` [${v.item.persona}]` : ''}`,
    );
    const time = ((v.doc.latencyMs ?? 0) / 1000).toFixed(3);
    const open = `    <testcase classname="arbiter.${name}" name="${title}" time="${time}">`;
    const scores = (v.result?.scores ?? [])
      .map((s) => `${s.metric}=${s.error ? 'error' : s.value.toFixed(3)}: ${oneLine(s.reason)}`)
      .join('\n');
    let body = '';
    if (v.doc.status === 'pending') body = '      <skipped message="not run"/>\n';
    else if (v.doc.status === 'error')
      body = `      <error message="${escapeXml(clip(oneLine(v.doc.error ?? 'target failed'), 500))}" type="${v.doc.errorCause ?? 'target'}-error"/>\n`;
    else if (!v.doc.passed) {
      const below = (v.result?.scores ?? [])
        .filter((sc) => sc.error === undefined && (specs.get(sc.metric)?.gate ?? true))
        .filter((sc) => sc.value + 1e-12 < (specs.get(sc.metric)?.threshold ?? 0.5))
        .map((sc) => `${sc.metric} ${sc.value.toFixed(3)} < ${specs.get(sc.metric)?.threshold ?? 0.5}`);
      const message = below.length
        ? `below threshold: ${below.join(', ')}`
        : `score ${v.doc.score === null || v.doc.score === undefined ? 'none' : v.doc.score.toFixed(3)}`;
      body = `      <failure message="${escapeXml(message)}" type="below-threshold">${escapeXml(scores)}</failure>\n`;
    }
    const out = v.result?.output ?? '';
    const sysout = out ? `      <system-out>${escapeXml(clip(out, 4000))}</system-out>\n` : '';
    return `${open}\n${body}${sysout}    </testcase>`;
  });
  if (missing > 0)
    cases.push(
      `    <testcase classname="arbiter.${name}" name="missing items" time="0.000">\n      <error message="${missing} of ${run.total} items were never stored, so never ran" type="missing-items"/>\n    </testcase>`,
    );
  const tests = items.length + (missing > 0 ? 1 : 0);
  const props = [
    ['runId', run._id],
    ['meanScore', run.summary?.meanScore?.toFixed(4) ?? ''],
    ['passRate', run.summary?.passRate?.toFixed(4) ?? ''],
    ['threshold', String(threshold)],
  ]
    .map(([k, val]) => `      <property name="${k}" value="${escapeXml(val!)}"/>`)
    .join('\n');
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="arbiter" tests="${tests}" failures="${failures}" errors="${errors}" skipped="${skipped}" time="${seconds}">`,
    `  <testsuite name="${name}" tests="${tests}" failures="${failures}" errors="${errors}" skipped="${skipped}" time="${seconds}" timestamp="${(run.startedAt ?? run.createdAt).toISOString()}">`,
    '    <properties>',
    props,
    '    </properties>',
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}

// A bot for the report-page tests: the real bot (store, worker, HTTP server) in console mode with two suites whose
// answers are hostile (scripts, markup, control characters), both run to completion, a blind review of the two, and
// a monitor ticked once. Everything goes through the front door (commands), as a person would.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createConsoleTransport } from '../../bot/console-transport.ts';
import { type RunningBot, startBot } from '../../bot/start.ts';
import { parseEnv } from '../../config/index.ts';
import type { Run } from '../../runs/index.ts';
import { tempDir } from './tmp.ts';
import { waitUntil } from './wait.ts';

/** Hostile text: a script, an event handler, an attribute breakout, entities, control characters. */
export const HOSTILE = `<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">"'><b>bold</b> &amp; \u0007\u001b[31m`;

/** What a hostile string looks like once escaped once (the control characters as visible symbols). */
export const HOSTILE_ESCAPED =
  '&lt;script&gt;window.__pwned=1&lt;/script&gt;&lt;img src=x onerror=&quot;window.__pwned=2&quot;&gt;&quot;&#39;&gt;&lt;b&gt;bold&lt;/b&gt; &amp;amp; \u2407\u241b[31m';

const QUESTIONS = [
  'What is 2 + 2?',
  'Capital of Italy?',
  `Repeat this: ${HOSTILE}`,
  'Colour of the sky?',
  'Opposite of hot?',
  'Largest planet?',
];

function writeSuite(dir: string, name: string, answers: (string | undefined)[]): void {
  const rows = QUESTIONS.map((q, i) =>
    JSON.stringify({
      id: `q${i}`,
      input: q,
      expected: i === 2 ? HOSTILE : undefined,
      ...(answers[i] === undefined ? {} : { output: answers[i] }),
    }),
  );
  writeFileSync(join(dir, `${name}.jsonl`), `${rows.join('\n')}\n`);
  writeFileSync(
    join(dir, `${name}.yaml`),
    [
      `name: ${name}`,
      `dataset: ./${name}.jsonl`,
      'target:',
      '  type: recorded',
      'metrics:',
      '  - metric: refusal',
      '  - metric: llm-judge',
      '    name: helpful',
      '    threshold: 0.2',
      '    args: { criteria: "Is the answer helpful?", reviewBelow: 0.99 }',
      'threshold:',
      '  score: 0.5',
      '',
    ].join('\n'),
  );
}

function writeMonitor(dir: string, dataFile: string): void {
  const records = [
    { id: 'm1', prompt: `Hello ${HOSTILE}`, response: { text: `Sure! ${HOSTILE}` } },
    { id: 'm2', prompt: 'How do I reset my password?', response: { text: 'I cannot help with that.' } },
    { id: 'm3', prompt: 'Where is my order?', response: { text: 'It ships tomorrow.' } },
  ];
  writeFileSync(dataFile, `${records.map((r) => JSON.stringify(r)).join('\n')}\n`);
  writeFileSync(
    join(dir, 'web-mon.yaml'),
    [
      'name: web-mon',
      'schedule:',
      '  cron: "0 0 1 1 *"',
      'source:',
      '  type: file',
      `  path: ${dataFile}`,
      'extract:',
      '  input: prompt',
      '  output: response.text',
      'sample:',
      '  strategy: all',
      'metrics:',
      '  - metric: refusal',
      '    name: no-refusal',
      '    threshold: 0.5',
      'alerts:',
      '  - on: failing',
      '    above: 0',
      '    severity: critical',
      'publish:',
      '  channel: "#llm-monitors"',
      '  worst: 2',
      '',
    ].join('\n'),
  );
}

/** The started bot and what the fixture created. */
export interface WebBot {
  bot: RunningBot;
  dir: string;
  out: () => string;
  careful: Run;
  sloppy: Run;
  stop: () => Promise<void>;
}

/** Starts the bot with the fixture's suites and monitor, runs both suites. */
export async function startWebBot(env: Record<string, string> = {}): Promise<WebBot> {
  const { dir, cleanup } = tempDir('arbiter-web-');
  const suites = join(dir, 'suites');
  const monitors = join(dir, 'monitors');
  mkdirSync(suites);
  mkdirSync(monitors);
  writeSuite(suites, 'careful', ['4', 'Rome', HOSTILE, 'Blue', 'Cold', 'Jupiter']);
  // Row 4 has no output: the recorded target errors on it (an errored item); row 2 refuses (a failing item).
  writeSuite(suites, 'sloppy', [
    '5',
    'I cannot help with that.',
    `Here: ${HOSTILE}`,
    'Green',
    undefined,
    'Mars',
  ]);
  writeMonitor(monitors, join(dir, 'traffic.jsonl'));
  let out = '';
  const bot = await startBot(
    parseEnv({
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: join(dir, 'data'),
      MONITORS_DIR: monitors,
      DIGESTS_DIR: join(dir, 'no-digests'),
      SUITES_DIR: suites,
      LOG_LEVEL: 'silent',
      ...env,
    }),
    { transport: createConsoleTransport({ write: (t) => (out += t) }), progressEditMs: 0 },
  );
  try {
    await bot.submitCommand('run careful');
    await bot.submitCommand('run sloppy');
    await waitUntil(
      async () => (await bot.runs.listRuns()).filter((r) => r.status === 'completed').length === 2,
      60_000,
    );
    const runs = await bot.runs.listRuns();
    return {
      bot,
      dir,
      out: () => out,
      careful: runs.find((r) => r.suiteName === 'careful')!,
      sloppy: runs.find((r) => r.suiteName === 'sloppy')!,
      stop: async () => {
        await bot.stop();
        cleanup();
      },
    };
  } catch (err) {
    await bot.stop();
    cleanup();
    throw err;
  }
}

/** Fetches a page of the bot (signed unless `raw`). */
export async function getPage(
  bot: RunningBot,
  path: string,
  options: { raw?: boolean } = {},
): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(`${bot.url}${options.raw ? path : bot.links.sign(path)}`);
  return { status: res.status, text: await res.text(), headers: res.headers };
}

// Benchmark of secret scrubbing, which every log line, chat message and target error passes through: the cost per
// line with no secrets registered, and with the secrets of a busy deployment (env keys plus http target headers).
import { createSecretRegistry } from '../../config/redact.ts';
import { isMain, median, report } from './util.ts';

const LINES = 20_000;
const ROUNDS = 5;

function sampleLines(): string[] {
  return Array.from({ length: LINES }, (_, i) =>
    JSON.stringify({
      level: 30,
      time: 1_700_000_000_000 + i,
      msg: `run_${i} item ${i % 50}: HTTP 401: {"error":"invalid credentials for request ${i}","detail":"${'x'.repeat(i % 200)}"}`,
    }),
  );
}

/** µs per line, median of the rounds. */
function perLine(scrub: (t: string) => string, lines: readonly string[]): number {
  const times: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const started = performance.now();
    let n = 0;
    for (const l of lines) n += scrub(l).length;
    times.push(((performance.now() - started) * 1000) / lines.length);
    if (n === 0) throw new Error('unreachable');
  }
  return median(times);
}

/** Runs the benchmark once and returns its figures. */
export async function run(): Promise<Record<string, number | string>> {
  const lines = sampleLines();
  const empty = createSecretRegistry();
  const busy = createSecretRegistry();
  // 10 environment secrets and 20 http target credentials (Bearer and Basic), each expanded into all its forms.
  for (let i = 0; i < 10; i++) busy.register(`xoxb-${i}-secret-token-${'a'.repeat(20)}${i}`);
  for (let i = 0; i < 10; i++) busy.register(`Bearer agent-token-${i}-${'b'.repeat(24)}`);
  for (let i = 0; i < 10; i++)
    busy.register(`Basic ${Buffer.from(`svc-${i}:password-${i}-${'c'.repeat(12)}`).toString('base64')}`);
  const none = perLine(empty.scrub, lines);
  const many = perLine(busy.scrub, lines);
  return report('redact: scrubbing one log line', {
    lines: LINES,
    registeredForms: busy.size,
    'µs/line, nothing registered (median)': none,
    'µs/line, 30 secrets registered (median)': many,
    'ratio busy / empty': many / none,
  });
}

if (isMain(import.meta.url)) await run();

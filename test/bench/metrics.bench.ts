// Benchmark of every heuristic metric: items per second on 10,000 items of about 2 KB each (an output of ~2 KB in the
// shape the metric reads: prose for the text metrics, JSON, SQL or XML for the structure metrics, tool calls for the
// agent metrics), median of the rounds. `similarity` runs its offline lexical fallback (no embedding provider), and
// then with embeddings: 1,000 items against a local fake Gemini batchEmbedContents endpoint that answers after 50 ms,
// 16 items in flight, through the real Llm wrapper and the Gemini SDK over HTTP (calls per item, wall time against
// the bound N / 16 × 50 ms, tokens and cost counted on the scores).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Item, METRIC_NAMES } from '../../evaluators/index.ts';
import { createMetric, metrics } from '../../evaluators/registry.ts';
import { createLlm } from '../../llm/index.ts';
import { isMain, median, report } from './util.ts';

const ITEMS = Number(process.env.BENCH_METRIC_ITEMS ?? 10_000);
const ROUNDS = Number(process.env.BENCH_METRIC_ROUNDS ?? 3);
const SIZE = 2048;

const WORDS = (
  'the refund policy allows returns within thirty days of delivery when the item is unused and in its original ' +
  'packaging customers should contact support with their order number and the reason for the return we issue ' +
  'refunds to the original payment method within five business days after the parcel arrives at our warehouse'
).split(' ');

/** Deterministic pseudo-random numbers (a 32-bit LCG), so every run scores the same items. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1_664_525) + 1_013_904_223) >>> 0;
    return s / 2 ** 32;
  };
}

function prose(r: () => number, size = SIZE): string {
  const out: string[] = [];
  let n = 0;
  while (n < size) {
    const w = WORDS[Math.floor(r() * WORDS.length)]!;
    out.push(w);
    n += w.length + 1;
  }
  return out.join(' ').slice(0, size);
}

function json(r: () => number): string {
  const sources: string[] = [];
  let text = '';
  while (text.length < SIZE - 200) {
    sources.push(`https://docs.example.com/${Math.floor(r() * 1e6)}`);
    text = JSON.stringify({ answer: prose(r, 600), score: 1 + Math.floor(r() * 5), sources });
  }
  return text;
}

function sql(r: () => number): string {
  const cols = Array.from({ length: 12 }, (_, i) => `c${i}_${Math.floor(r() * 100)}`);
  const conds: string[] = [];
  let q = '';
  while (q.length < SIZE - 80) {
    conds.push(
      `(t.${cols[conds.length % cols.length]} > ${Math.floor(r() * 1000)} OR t.name LIKE 'a${conds.length}%')`,
    );
    q = `SELECT ${cols.join(', ')} FROM orders t JOIN customers c ON c.id = t.customer_id WHERE ${conds.join(' AND ')} ORDER BY t.id LIMIT 50`;
  }
  return q;
}

function xml(r: () => number): string {
  const lines: string[] = [];
  let x = '';
  while (x.length < SIZE - 60) {
    lines.push(
      `<line sku="S${Math.floor(r() * 1e5)}" qty="${1 + Math.floor(r() * 9)}"><note>${WORDS[lines.length % WORDS.length]}</note></line>`,
    );
    x = `<?xml version="1.0"?><invoice id="${Math.floor(r() * 1e6)}">${lines.join('')}</invoice>`;
  }
  return x;
}

const TOOLS = ['search', 'lookup_order', 'cancel_order', 'refund', 'send_email', 'escalate'];

function toolCalls(r: () => number): Item['toolCalls'] {
  // ~2 KB of calls: eight calls with ~250 characters of arguments each.
  return Array.from({ length: 8 }, () => ({
    name: TOOLS[Math.floor(r() * TOOLS.length)]!,
    args: { query: prose(r, 200), orderId: `A-${Math.floor(r() * 1e5)}` },
  }));
}

type Shape = 'prose' | 'json' | 'sql' | 'xml' | 'tools';

/** What each metric reads, and the arguments it runs with (its registry example unless noted). */
const SETUP: Partial<Record<string, { shape: Shape; args?: unknown }>> = {
  'json-valid': { shape: 'json' },
  'json-schema': { shape: 'json' },
  'contains-json': { shape: 'json' },
  'is-sql': { shape: 'sql' },
  'is-xml': { shape: 'xml' },
  'tool-correctness': { shape: 'tools' },
  trajectory: { shape: 'tools', args: { order: 'in-order', forbidden: ['delete_account'], maxSteps: 20 } },
  'starts-with': { shape: 'prose', args: { value: ['the', 'we'] } },
};

function items(shape: Shape): Item[] {
  const r = rng(42);
  return Array.from({ length: ITEMS }, (_, i) => {
    const expected = prose(r);
    const base: Item = {
      input: `question ${i}`,
      output: '',
      expected,
      latencyMs: 100 + (i % 900),
      usage: { inputTokens: 400 + (i % 200), outputTokens: 300 + (i % 100), costUsd: 0.001 + (i % 7) / 1000 },
    };
    if (shape === 'json') return { ...base, output: json(r) };
    if (shape === 'sql') return { ...base, output: sql(r) };
    if (shape === 'xml') return { ...base, output: xml(r) };
    if (shape === 'tools') {
      const calls = toolCalls(r);
      return { ...base, output: 'done', toolCalls: calls, expectedToolCalls: calls!.slice(0, 5) };
    }
    // The output shares about half its words with the reference, as a real answer would.
    return { ...base, output: `${expected.slice(0, SIZE / 2)} ${prose(r, SIZE / 2)}`.slice(0, SIZE) };
  });
}

const EMBED_ITEMS = Number(process.env.BENCH_EMBED_ITEMS ?? 1000);
const EMBED_LATENCY_MS = 50;
const EMBED_CONC = 16;

/**
 * A local fake of the Gemini API's models/{model}:batchEmbedContents: `{requests: [{model, content}]}` in,
 * `{embeddings: [{values}]}` out, one per request in order (https://ai.google.dev/api/embeddings), after 50 ms.
 */
async function fakeGeminiEmbeddings(): Promise<{
  url: string;
  calls: () => number;
  close: () => Promise<void>;
}> {
  let calls = 0;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString('utf8');
    });
    req.on('end', () => {
      calls += 1;
      const requests =
        (JSON.parse(body) as { requests?: { content?: { parts?: { text?: string }[] } }[] }).requests ?? [];
      // A small vector derived from the text, so the cosine is real work on real numbers.
      const embeddings = requests.map((r) => {
        const text = r.content?.parts?.[0]?.text ?? '';
        const values = Array.from(
          { length: 768 },
          (_, i) => ((text.charCodeAt(i % (text.length || 1)) || 1) % 17) / 17,
        );
        return { values };
      });
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ embeddings }));
      }, EMBED_LATENCY_MS);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls: () => calls,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** `similarity` with Gemini embeddings over HTTP: calls per item, wall time against the bound, tokens and cost. */
async function embeddingSimilarity(): Promise<Record<string, string | number>> {
  const fake = await fakeGeminiEmbeddings();
  try {
    const list = items('prose').slice(0, EMBED_ITEMS);
    const walls: number[] = [];
    let tokens = 0;
    let cost = 0;
    let errors = 0;
    let calls = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const before = fake.calls();
      const llm = createLlm({
        env: { GEMINI_API_KEY: 'AIzaSyBench-0123456789abcdefghijklmn', GEMINI_BASE_URL: fake.url },
        settings: { cache: false, limits: {} },
      });
      const made = createMetric('similarity', { fallback: 'error' }, { llm });
      if (!made.ok) throw new Error(made.error);
      let next = 0;
      tokens = 0;
      cost = 0;
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: EMBED_CONC }, async () => {
          for (let i = next++; i < list.length; i = next++) {
            const s = await made.metric.score(list[i]!);
            if (s.error !== undefined) errors++;
            tokens += s.usage?.inputTokens ?? 0;
            cost += s.usage?.costUsd ?? 0;
          }
        }),
      );
      walls.push((performance.now() - t0) / 1000);
      calls = fake.calls() - before;
    }
    if (errors > 0) throw new Error(`similarity (embeddings): ${errors} errored scores`);
    const bound = (EMBED_ITEMS / EMBED_CONC) * (EMBED_LATENCY_MS / 1000);
    const wall = median(walls);
    return {
      [`similarity with embeddings (${EMBED_ITEMS} items, fake Gemini ${EMBED_LATENCY_MS} ms, ${EMBED_CONC} in flight)`]: `${(calls / EMBED_ITEMS).toFixed(3)} calls/item, wall ${wall.toFixed(2)} s, bound ${bound.toFixed(2)} s, ×${(wall / bound).toFixed(2)}`,
      'similarity with embeddings: tokens counted per item (estimated)': Math.round(tokens / EMBED_ITEMS),
      'similarity with embeddings: cost of the run (USD)': Number(cost.toFixed(6)),
    };
  } finally {
    await fake.close();
  }
}

/** Runs the benchmark once and returns its figures. */
export async function run(): Promise<Record<string, number | string>> {
  const figures: Record<string, number | string> = {
    items: ITEMS,
    'item output size (chars)': SIZE,
    rounds: ROUNDS,
  };
  const cache = new Map<Shape, Item[]>();
  for (const name of METRIC_NAMES) {
    if (metrics[name].kind !== 'heuristic') continue;
    const setup = SETUP[name] ?? { shape: 'prose' as const };
    const built = createMetric(name, setup.args ?? metrics[name].example);
    if (!built.ok) throw new Error(built.error);
    let list = cache.get(setup.shape);
    if (!list) {
      list = items(setup.shape);
      cache.set(setup.shape, list);
    }
    // Warm-up, not timed: lazy loads (the SQL parser) and the JIT.
    for (const item of list.slice(0, 50)) await built.metric.score(item);
    const rates: number[] = [];
    let errors = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const started = performance.now();
      for (const item of list) {
        const s = await built.metric.score(item);
        if (s.error !== undefined) errors++;
      }
      rates.push(list.length / ((performance.now() - started) / 1000));
    }
    // A metric that could not score its items would measure its error path, not its work.
    if (errors > 0) throw new Error(`${name}: ${errors} errored scores`);
    figures[`${name} (items/s, median)`] = Math.round(median(rates));
  }
  Object.assign(figures, await embeddingSimilarity());
  return report('metrics: heuristic metrics on 2 KB items', figures);
}

if (isMain(import.meta.url)) await run();

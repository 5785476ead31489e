// Benchmark of the ratings engine at Arena scale: 50 contenders, 200,000 votes, 1,000 bootstrap refits.
import { pathToFileURL } from 'node:url';
import { computeRatings, type Vote } from '../../reviews/ratings.ts';
import { createRng } from '../../reviews/random.ts';

const CONTENDERS = 50;
const VOTES = 200_000;
const BOOTSTRAP = 1000;

/** Seeded synthetic votes from known Bradley–Terry strengths (ratings 700..1300), with ties and "both bad". */
export function generateBenchVotes(count = VOTES, contenders = CONTENDERS, seed = 7): Vote[] {
  const rng = createRng(seed);
  const names = Array.from({ length: contenders }, (_, i) => `model-${String(i).padStart(2, '0')}`);
  const truth = names.map((_, i) => 700 + (600 * i) / Math.max(1, contenders - 1));
  const votes: Vote[] = [];
  for (let k = 0; k < count; k++) {
    const i = Math.floor(rng.next() * contenders);
    let j = Math.floor(rng.next() * (contenders - 1));
    if (j >= i) j++;
    const pA = 1 / (1 + 10 ** ((truth[j]! - truth[i]!) / 400));
    const u = rng.next();
    // About 15% ties and 5% "both bad", the rest decided by the true win probability.
    const winner = u < 0.15 ? 'tie' : u < 0.2 ? 'both_bad' : rng.next() < pA ? 'a' : 'b';
    votes.push({ a: names[i]!, b: names[j]!, winner });
  }
  return votes;
}

/** Runs the benchmark once and returns its figures (seconds, peak RSS in MiB). */
export async function run(): Promise<Record<string, number | string>> {
  const t0 = performance.now();
  const votes = generateBenchVotes();
  const t1 = performance.now();
  const table = computeRatings(votes, { bootstrap: BOOTSTRAP, seed: 42 });
  const t2 = performance.now();
  // maxRSS is reported in kilobytes.
  const peakRssMiB = process.resourceUsage().maxRSS / 1024;
  const figures = {
    name: 'ratings',
    contenders: table.contenders.length,
    votes: votes.length,
    bootstrapRounds: BOOTSTRAP,
    generateSeconds: round((t1 - t0) / 1000),
    seconds: round((t2 - t1) / 1000),
    peakRssMiB: round(peakRssMiB),
    converged: String(table.converged),
  };
  console.log(
    `ratings: ${figures.contenders} contenders, ${figures.votes} votes, ${BOOTSTRAP} bootstrap rounds: ` +
      `${figures.seconds} s (vote generation ${figures.generateSeconds} s), peak RSS ${figures.peakRssMiB} MiB`,
  );
  return figures;
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  run().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}

// Pairing for blind reviews, pure: the items two runs share (same normalized input), matchups drawn round-robin so
// every contender meets every other evenly, a seeded shuffle of items and a seeded A/B coin per pair.
import { createHash } from 'node:crypto';
import { createRng, type Rng } from './random.ts';
import type { ReviewRunItem } from './types.ts';

/** Pairs per matchup when the request names no number. */
export const DEFAULT_PAIRS_PER_MATCHUP = 20;

/** The input as compared across runs: Unicode NFKC, case-folded, whitespace collapsed. */
export function normalizeInput(input: string): string {
  return input.normalize('NFKC').toLowerCase().replace(/\s+/g, ' ').trim();
}

/** A stable key of an input, so runs of different suites over the same questions still pair up. */
export function matchKey(input: string): string {
  return createHash('sha256').update(normalizeInput(input)).digest('hex').slice(0, 24);
}

/** One contender's reviewable items. */
export interface ContenderItems {
  runId: string;
  items: readonly ReviewRunItem[];
}

/** A planned pair; the hidden order is `aRunId`/`bRunId`. */
export interface PlannedPair {
  seq: number;
  matchKey: string;
  input: string;
  aRunId: string;
  bRunId: string;
  answerA: string;
  answerB: string;
}

/** The outcome of planning: pairs, or a usage error to show. */
export type PairPlan =
  | { ok: true; pairs: PlannedPair[]; matchups: { a: string; b: string; shared: number; planned: number }[] }
  | { ok: false; error: string };

function usable(items: readonly ReviewRunItem[]): Map<string, ReviewRunItem & { output: string }> {
  const byKey = new Map<string, ReviewRunItem & { output: string }>();
  for (const item of items) {
    if (item.output === undefined || item.output.trim() === '') continue;
    const key = matchKey(item.input);
    // A repeated input (e.g. one question asked by several personas) pairs on its first occurrence only.
    if (!byKey.has(key)) byKey.set(key, { ...item, output: item.output });
  }
  return byKey;
}

function shuffle<T>(values: T[], rng: Rng): T[] {
  for (let i = values.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [values[i], values[j]] = [values[j]!, values[i]!];
  }
  return values;
}

/**
 * Plans the pairs of a review. `pairs` is the total wanted (default DEFAULT_PAIRS_PER_MATCHUP per matchup); pairs go
 * to matchups in turn, so matchups differ by at most one pair until one runs out of shared items.
 */
export function planPairs(input: {
  contenders: readonly ContenderItems[];
  pairs?: number | undefined;
  seed: number;
}): PairPlan {
  const { contenders } = input;
  const ids = contenders.map((c) => c.runId);
  if (new Set(ids).size < 2) return { ok: false, error: 'A review needs at least 2 different runs.' };
  const rng = createRng(input.seed);
  const usableItems = contenders.map((c) => usable(c.items));
  const matchups: { i: number; j: number; keys: string[]; next: number }[] = [];
  for (let i = 0; i < contenders.length; i++) {
    for (let j = i + 1; j < contenders.length; j++) {
      const mine = usableItems[i]!;
      const theirs = usableItems[j]!;
      const keys = [...mine.keys()].filter((k) => theirs.has(k)).sort();
      if (keys.length === 0) {
        return {
          ok: false,
          error: `Runs ${ids[i]} and ${ids[j]} share no items with the same input and an answer in both, so there is nothing to compare.`,
        };
      }
      matchups.push({ i, j, keys: shuffle(keys, rng), next: 0 });
    }
  }
  const available = matchups.reduce((n, m) => n + m.keys.length, 0);
  const wanted = Math.min(available, input.pairs ?? DEFAULT_PAIRS_PER_MATCHUP * matchups.length);
  const pairs: PlannedPair[] = [];
  while (pairs.length < wanted) {
    for (const m of matchups) {
      if (pairs.length >= wanted) break;
      if (m.next >= m.keys.length) continue;
      const key = m.keys[m.next++]!;
      const left = usableItems[m.i]!.get(key)!;
      const right = usableItems[m.j]!.get(key)!;
      const swap = rng.next() < 0.5;
      const [a, b] = swap ? [m.j, m.i] : [m.i, m.j];
      const [itemA, itemB] = swap ? [right, left] : [left, right];
      pairs.push({
        seq: pairs.length + 1,
        matchKey: key,
        input: left.input,
        aRunId: ids[a]!,
        bRunId: ids[b]!,
        answerA: itemA.output,
        answerB: itemB.output,
      });
    }
  }
  return {
    ok: true,
    pairs,
    matchups: matchups.map((m) => ({ a: ids[m.i]!, b: ids[m.j]!, shared: m.keys.length, planned: m.next })),
  };
}

/**
 * DM mode: who votes on which pair. Reviewers are dealt round-robin, `perPair` distinct ones per pair (capped at the
 * number of reviewers), so every reviewer gets an even share.
 */
export function assignReviewers(
  pairCount: number,
  reviewers: readonly string[],
  perPair: number,
): string[][] {
  const n = reviewers.length;
  const k = Math.min(perPair, n);
  const out: string[][] = [];
  for (let p = 0; p < pairCount; p++) {
    const chosen: string[] = [];
    for (let r = 0; r < k; r++) chosen.push(reviewers[(p * k + r) % n]!);
    out.push(chosen);
  }
  return out;
}

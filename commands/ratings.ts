// `arbiter ratings`: the rating engine on a votes.jsonl file, with no store, Slack or LLM involved.
// Takes its I/O as a parameter so the CLI front door wires real files and streams and tests pass strings.
import { formatFieldPath } from '../config/index.ts';
import {
  computeRatings,
  MIN_VOTES_PER_CONTENDER,
  notEnoughVotes,
  type RatingsTable,
  type Vote,
  VoteSchema,
} from '../reviews/index.ts';

/** What the ratings command needs from the outside world. */
export interface RatingsCliIo {
  readFile(path: string): Promise<string>;
  stdout(text: string): void;
  stderr(text: string): void;
}

/**
 * `arbiter ratings` with its options, as the command registry (commands/table.ts) parsed and validated them: this file
 * reads no argv. Absent options take their defaults here.
 */
export interface RatingsCliArgs {
  votes: string;
  bootstrap?: number | undefined;
  seed?: number | undefined;
  contenders?: string[] | undefined;
  minVotes?: number | undefined;
  excludeBothBad?: boolean | undefined;
  json?: boolean | undefined;
}

/** Bootstrap rounds and seed when --bootstrap and --seed are not given. */
export const RATINGS_DEFAULTS = { bootstrap: 1000, seed: 42, minVotes: MIN_VOTES_PER_CONTENDER } as const;

/** What `arbiter ratings --help` says besides the usage line and the options. */
export const RATINGS_DETAIL = `Bradley–Terry ratings (Chatbot Arena method) with 95% bootstrap intervals from a JSON Lines file,
one vote per line: {"a": "<model>", "b": "<model>", "winner": "a" | "b" | "tie" | "both_bad"}`;

const MAX_REPORTED_LINE_ERRORS = 10;

/** Runs `arbiter ratings`; resolves to the exit code. */
export async function runRatingsCli(options: RatingsCliArgs, io: RatingsCliIo): Promise<number> {
  const args = {
    votes: options.votes,
    bootstrap: options.bootstrap ?? RATINGS_DEFAULTS.bootstrap,
    seed: options.seed ?? RATINGS_DEFAULTS.seed,
    contenders: options.contenders ?? [],
    minVotes: options.minVotes ?? RATINGS_DEFAULTS.minVotes,
    bothBadAsTie: options.excludeBothBad !== true,
    json: options.json === true,
  };
  let text: string;
  try {
    text = await io.readFile(args.votes);
  } catch (err) {
    io.stderr(`Cannot read votes file ${args.votes}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
  const votes = parseVotesJsonl(text);
  if (!votes.ok) {
    const shown = votes.errors
      .slice(0, MAX_REPORTED_LINE_ERRORS)
      .map((e) => `${args.votes}:${e.line}: ${e.message}`);
    const more = votes.errors.length - shown.length;
    if (more > 0) shown.push(`… and ${more} more bad line${more === 1 ? '' : 's'}`);
    io.stderr(`${shown.join('\n')}\n`);
    return 2;
  }
  const table = computeRatings(votes.votes, {
    bootstrap: args.bootstrap,
    seed: args.seed,
    bothBadAsTie: args.bothBadAsTie,
    contenders: args.contenders,
    minVotes: args.minVotes,
  });
  io.stdout(args.json ? `${JSON.stringify(table, null, 2)}\n` : formatRatingsTable(table));
  return 0;
}

/** A problem on one line of a votes file (1-based line number). */
export interface VoteLineError {
  line: number;
  message: string;
}

/** Parses JSON Lines votes; blank lines are skipped, every bad line is reported with its reason. */
export function parseVotesJsonl(
  text: string,
): { ok: true; votes: Vote[] } | { ok: false; errors: VoteLineError[] } {
  const votes: Vote[] = [];
  const errors: VoteLineError[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      errors.push({
        line: i + 1,
        message: `not valid JSON (${err instanceof Error ? err.message : String(err)})`,
      });
      return;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      errors.push({
        line: i + 1,
        message: 'expected a JSON object like {"a": "model-1", "b": "model-2", "winner": "a"}',
      });
      return;
    }
    const result = VoteSchema.safeParse(value);
    if (result.success) {
      votes.push(result.data);
      return;
    }
    const reasons = result.error.issues.map((issue) =>
      issue.path.length > 0 ? `${formatFieldPath(issue.path)}: ${issue.message}` : issue.message,
    );
    errors.push({ line: i + 1, message: reasons.join('; ') });
  });
  return errors.length > 0 ? { ok: false, errors } : { ok: true, votes };
}

/** Renders a ratings table as aligned plain text (the CLI's and the console transport's view). */
export function formatRatingsTable(table: RatingsTable): string {
  const { settings, votes } = table;
  const out: string[] = [];
  const intervals =
    settings.bootstrap > 0 ? `${settings.bootstrap} bootstrap rounds, seed ${settings.seed}` : 'no bootstrap';
  out.push(`Ratings from ${votes.counted} of ${votes.total} votes (${intervals})`);
  if (table.contenders.length === 0) {
    out.push('No votes to rate.');
  } else {
    const grouped = table.components > 1;
    const header = [
      'Rank',
      'Contender',
      'Rating',
      '95% CI',
      'Games',
      'Win rate',
      ...(grouped ? ['Group'] : []),
    ];
    const rows = table.contenders.map((c) => [
      c.rank === null ? '-' : String(c.rank),
      c.name,
      c.rating.toFixed(0),
      !c.enoughVotes
        ? notEnoughVotes(c.games, settings.minVotes)
        : c.ci
          ? `${c.ci.lower.toFixed(0)} to ${c.ci.upper.toFixed(0)}`
          : '-',
      String(c.games),
      `${(c.winRate * 100).toFixed(1)}%`,
      ...(grouped ? [String(c.component + 1)] : []),
    ]);
    // Text columns (contender, interval) align left, numbers right.
    const leftAligned = new Set([1, 3]);
    const widths = header.map((h, col) => Math.max(h.length, ...rows.map((r) => r[col]!.length)));
    const render = (cells: string[]) =>
      cells
        .map((cell, col) => (leftAligned.has(col) ? cell.padEnd(widths[col]!) : cell.padStart(widths[col]!)))
        .join('  ')
        .trimEnd();
    out.push(render(header), ...rows.map(render));
  }
  if (table.contenders.some((c) => !c.enoughVotes))
    out.push(
      `Contenders with fewer than ${settings.minVotes} votes get no rank and no interval: no claim is made about them.`,
    );
  if (table.unrated.length > 0) out.push(`Unrated (no counted games): ${table.unrated.join(', ')}`);
  if (votes.bothBadExcluded === 1) out.push('1 "both_bad" vote was not counted as a game.');
  if (votes.bothBadExcluded > 1)
    out.push(`${votes.bothBadExcluded} "both_bad" votes were not counted as games.`);
  if (table.components > 1) {
    out.push(
      `Warning: the votes form ${table.components} groups that never met each other; ratings are only comparable within a group.`,
    );
  }
  if (!table.converged) out.push('Warning: a fit did not converge; ratings may be inaccurate.');
  return `${out.join('\n')}\n`;
}

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

/** Help text of `arbiter ratings`. */
export const RATINGS_USAGE = `Usage: arbiter ratings --votes FILE [options]

Bradley–Terry ratings (Chatbot Arena method) with 95% bootstrap intervals from a JSON Lines file,
one vote per line: {"a": "<model>", "b": "<model>", "winner": "a" | "b" | "tie" | "both_bad"}

Options:
  --votes FILE          votes file (required)
  --bootstrap N         bootstrap rounds for the intervals, 0 for none (default 1000)
  --seed N              seed of the bootstrap, an integer (default 42)
  --contenders A,B,...  known contenders; those without votes are listed as unrated
  --min-votes N         votes a contender needs before it gets an interval and a rank (default ${MIN_VOTES_PER_CONTENDER})
  --exclude-both-bad    do not count "both_bad" votes as games (default: they count as ties)
  --json                print the full table as JSON
  -h, --help            show this help
`;

const MAX_REPORTED_LINE_ERRORS = 10;

interface CliArgs {
  votes: string;
  bootstrap: number;
  seed: number;
  contenders: string[];
  minVotes: number;
  bothBadAsTie: boolean;
  json: boolean;
}

type ParsedArgs = { ok: true; args: CliArgs } | { ok: true; help: true } | { ok: false; error: string };

/** Runs `arbiter ratings` with the arguments after the subcommand name; resolves to the exit code. */
export async function runRatingsCli(argv: readonly string[], io: RatingsCliIo): Promise<number> {
  const parsed = parseArgs(argv);
  if (!parsed.ok) {
    io.stderr(`${parsed.error}\n\n${RATINGS_USAGE}`);
    return 2;
  }
  if ('help' in parsed) {
    io.stdout(RATINGS_USAGE);
    return 0;
  }
  const { args } = parsed;
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

function parseArgs(argv: readonly string[]): ParsedArgs {
  const args: Partial<CliArgs> & { bothBadAsTie: boolean; json: boolean } = {
    bothBadAsTie: true,
    json: false,
  };
  const takesValue = new Set(['--votes', '--bootstrap', '--seed', '--contenders', '--min-votes']);
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (token === '-h' || token === '--help') return { ok: true, help: true };
    const eq = token.startsWith('--') ? token.indexOf('=') : -1;
    const flag = eq === -1 ? token : token.slice(0, eq);
    if (flag === '--json' || flag === '--exclude-both-bad') {
      if (eq !== -1) return { ok: false, error: `${flag} takes no value` };
      if (flag === '--json') args.json = true;
      else args.bothBadAsTie = false;
      continue;
    }
    if (!takesValue.has(flag)) {
      return {
        ok: false,
        error: token.startsWith('-') ? `Unknown option ${flag}` : `Unexpected argument ${token}`,
      };
    }
    let value: string | undefined;
    if (eq !== -1) value = token.slice(eq + 1);
    else {
      value = argv[i + 1];
      i++;
    }
    if (value === undefined || value === '' || (eq === -1 && value.startsWith('--'))) {
      return { ok: false, error: `${flag} needs a value` };
    }
    switch (flag) {
      case '--votes':
        args.votes = value;
        break;
      case '--bootstrap': {
        const n = parseWholeNumber(value);
        if (n === null || n > 100_000)
          return { ok: false, error: `--bootstrap expects a whole number from 0 to 100000, got "${value}"` };
        args.bootstrap = n;
        break;
      }
      case '--seed': {
        const n = parseWholeNumber(value.replace(/^-/, ''));
        if (n === null) return { ok: false, error: `--seed expects an integer, got "${value}"` };
        args.seed = value.startsWith('-') ? -n : n;
        break;
      }
      case '--min-votes': {
        const n = parseWholeNumber(value);
        if (n === null || n < 1 || n > 1_000_000)
          return { ok: false, error: `--min-votes expects a whole number from 1 to 1000000, got "${value}"` };
        args.minVotes = n;
        break;
      }
      case '--contenders':
        args.contenders = value
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
        break;
    }
  }
  if (args.votes === undefined) return { ok: false, error: 'Missing --votes FILE' };
  return {
    ok: true,
    args: {
      votes: args.votes,
      bootstrap: args.bootstrap ?? 1000,
      seed: args.seed ?? 42,
      contenders: args.contenders ?? [],
      minVotes: args.minVotes ?? MIN_VOTES_PER_CONTENDER,
      bothBadAsTie: args.bothBadAsTie,
      json: args.json,
    },
  };
}

function parseWholeNumber(text: string): number | null {
  if (!/^\d+$/.test(text)) return null;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : null;
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

import { describe, expect, it } from 'vitest';
import { runCli } from '../cli/run-cli.ts';
import { parseVotesJsonl } from './ratings.ts';
import { commandHelp, usageLine } from './registry.ts';
import { COMMANDS } from './table.ts';
import { computeRatings, type RatingsTable } from '../reviews/index.ts';

/** Runs `arbiter ratings <argv>` (through the command registry) against in-memory files and captures both streams. */
async function run(argv: string[], files: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(
    ['ratings', ...argv],
    {},
    {
      readFile: async (path) => {
        const text = files[path];
        if (text === undefined) throw new Error(`ENOENT: no such file or directory, open '${path}'`);
        return text;
      },
      stdout: (s) => {
        stdout += s;
      },
      stderr: (s) => {
        stderr += s;
      },
    },
  );
  return { code, stdout, stderr };
}

const line = (a: string, b: string, winner: string) => JSON.stringify({ a, b, winner });
const VOTES = [
  ...Array.from({ length: 6 }, () => line('gpt-big', 'small', 'a')),
  line('gpt-big', 'small', 'b'),
  line('small', 'mid-model', 'tie'),
  ...Array.from({ length: 3 }, () => line('mid-model', 'gpt-big', 'b')),
  line('mid-model', 'small', 'a'),
  line('mid-model', 'small', 'both_bad'),
  line('lonely', 'small', 'both_bad'),
].join('\n');

describe('arbiter ratings', () => {
  it('prints an aligned table with rank, rating, interval, games and win rate', async () => {
    const { code, stdout, stderr } = await run(['--votes', 'votes.jsonl', '--bootstrap', '200'], {
      'votes.jsonl': VOTES,
    });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('Ratings from 14 of 14 votes (200 bootstrap rounds, seed 42)');
    expect(lines[1]).toMatch(/^Rank {2}Contender +Rating {2}95% CI +Games {2}Win rate$/);
    const rows = lines.slice(2, 6);
    expect(rows.map((r) => r.trim().split(/\s+/)[1]).sort()).toEqual([
      'gpt-big',
      'lonely',
      'mid-model',
      'small',
    ]);
    // gpt-big (10 games) and small (11) have enough votes and come first, by rating; mid-model (6) and
    // lonely (1) follow, by rating, with no rank and no interval.
    const cells = rows.map((r) => r.trim().split(/\s+/));
    expect(
      cells
        .slice(0, 2)
        .map((c) => c[1])
        .sort(),
    ).toEqual(['gpt-big', 'small']);
    const ratings = cells.map((c) => Number(c[2]));
    expect(ratings.slice(0, 2)).toEqual([...ratings.slice(0, 2)].sort((x, y) => y - x));
    expect(ratings.slice(2)).toEqual([...ratings.slice(2)].sort((x, y) => y - x));
    expect(rows[0]).toMatch(/^ +1 {2}gpt-big +\d+ {2}\d+ to \d+ /);
    expect(rows[1]).toMatch(/^ +2 {2}small +\d+ {2}-?\d+ to \d+ /);
    expect(rows.find((r) => r.includes('mid-model'))).toMatch(
      /^ +- {2}mid-model +\d+ {2}not enough votes \(6 of 10\) +6 /,
    );
    expect(rows.find((r) => r.includes('lonely'))).toMatch(
      /^ +- {2}lonely +\d+ {2}not enough votes \(1 of 10\) +1 /,
    );
    expect(lines[6]).toBe(
      'Contenders with fewer than 10 votes get no rank and no interval: no claim is made about them.',
    );
    // Every row's columns start where the header's do.
    const header = lines[1]!;
    for (const column of ['Contender', '95% CI']) {
      for (const row of rows) expect(row[header.indexOf(column) - 1]).toBe(' ');
    }
    for (const row of rows) expect(row.length).toBe(header.length);
    expect(rows[0]).toMatch(/ 10 +90\.0%$/);
    expect(rows[0]).toMatch(/\d+ to \d+/);
  });

  it('--min-votes sets the minimum: at 1 every contender gets an interval and a rank', async () => {
    const { code, stdout } = await run(['--votes', 'v', '--bootstrap', '100', '--min-votes', '1'], {
      v: VOTES,
    });
    expect(code).toBe(0);
    expect(stdout).not.toContain('not enough votes');
    expect(stdout.match(/\d+ to \d+/g)).toHaveLength(4);
    expect(stdout).not.toMatch(/^ +- {2}/m);
  });

  it('prints the same table as JSON with --json', async () => {
    const { code, stdout } = await run(
      ['--votes=votes.jsonl', '--json', '--bootstrap', '50', '--seed', '7'],
      {
        'votes.jsonl': VOTES,
      },
    );
    expect(code).toBe(0);
    const table = JSON.parse(stdout) as RatingsTable;
    const votes = parseVotesJsonl(VOTES);
    if (!votes.ok) throw new Error('fixture must parse');
    expect(table).toEqual(computeRatings(votes.votes, { bootstrap: 50, seed: 7 }));
  });

  it('lists unrated contenders from --contenders and --exclude-both-bad', async () => {
    const { code, stdout } = await run(
      ['--votes', 'v.jsonl', '--bootstrap', '0', '--exclude-both-bad', '--contenders', 'new-one, gpt-big'],
      { 'v.jsonl': VOTES },
    );
    expect(code).toBe(0);
    expect(stdout).toContain('Ratings from 12 of 14 votes (no bootstrap)');
    expect(stdout).toContain('Unrated (no counted games): lonely, new-one');
    expect(stdout).toContain('2 "both_bad" votes were not counted as games.');
    const single = await run(['--votes', 'v', '--exclude-both-bad'], {
      v: `${line('a', 'b', 'a')}\n${line('a', 'b', 'both_bad')}`,
    });
    expect(single.stdout).toContain('1 "both_bad" vote was not counted as a game.');
    expect(stdout).toMatch(/gpt-big +\d+ {2}- +10/);
  });

  it('warns when the votes fall into groups that never met', async () => {
    const file = [line('a', 'b', 'a'), line('c', 'd', 'b')].join('\n');
    const { code, stdout } = await run(['--votes', 'v.jsonl', '--bootstrap', '10'], { 'v.jsonl': file });
    expect(code).toBe(0);
    expect(stdout).toMatch(/Group$/m);
    expect(stdout).toContain('the votes form 2 groups that never met each other');
  });

  it('handles an empty file, blank lines, CRLF and a byte-order mark', async () => {
    expect((await run(['--votes', 'v'], { v: '' })).stdout).toContain('No votes to rate.');
    const messy = `\uFEFF${line('a', 'b', 'a')}\r\n\r\n   \r\n${line('a', 'b', 'tie')}\r\n`;
    const { code, stdout } = await run(['--votes', 'v', '--bootstrap', '0'], { v: messy });
    expect(code).toBe(0);
    expect(stdout).toContain('Ratings from 2 of 2 votes');
  });

  it.each([
    { content: `${line('a', 'b', 'a')}\n{"a": "a", "b": "b"`, message: 'v.jsonl:2: not valid JSON' },
    { content: line('a', 'b', 'draw'), message: 'v.jsonl:1: winner: expected "a", "b", "tie" or "both_bad"' },
    { content: `\n\n${line('a', 'a', 'a')}`, message: 'v.jsonl:3: a and b must be different contenders' },
    { content: '{"b": "x", "winner": "a"}', message: 'v.jsonl:1: a: expected a contender name' },
    { content: '["a", "b", "a"]', message: 'v.jsonl:1: expected a JSON object' },
  ])('rejects a bad line with its number and reason: $message', async ({ content, message }) => {
    const { code, stdout, stderr } = await run(['--votes', 'v.jsonl'], { 'v.jsonl': content });
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain(message);
  });

  it('reports at most ten bad lines and counts the rest', async () => {
    const content = Array.from({ length: 13 }, () => 'nope').join('\n');
    const { code, stderr } = await run(['--votes', 'v'], { v: content });
    expect(code).toBe(2);
    expect(stderr.trimEnd().split('\n')).toHaveLength(11);
    expect(stderr).toContain('v:10: not valid JSON');
    expect(stderr).toContain('… and 3 more bad lines');
  });

  it.each([
    { argv: [], message: 'Missing --votes FILE' },
    { argv: ['--votes'], message: '--votes needs a value' },
    { argv: ['--votes', '--json'], message: '--votes needs a value' },
    { argv: ['--votes', 'v', '--frobnicate'], message: 'Unknown option --frobnicate' },
    { argv: ['--votes', 'v', 'extra'], message: 'ratings takes no arguments (got "extra")' },
    {
      argv: ['--votes', 'v', '--boostrap', '5'],
      message: 'Unknown option --boostrap. Did you mean --bootstrap?',
    },
    { argv: ['--votes', 'v', '--bootstrap', 'many'], message: '--bootstrap expects a whole number' },
    { argv: ['--votes', 'v', '--bootstrap', '-3'], message: '--bootstrap expects a whole number' },
    { argv: ['--votes', 'v', '--seed', '1.5'], message: '--seed expects an integer' },
    { argv: ['--votes', 'v', '--json=yes'], message: '--json takes no value' },
    { argv: ['--votes', 'v', '--min-votes', '0'], message: '--min-votes expects a whole number from 1' },
    { argv: ['--votes', 'v', '--min-votes', 'ten'], message: '--min-votes expects a whole number from 1' },
  ])('exits 2 with the one usage line for $argv', async ({ argv, message }) => {
    const { code, stdout, stderr } = await run(argv, { v: line('a', 'b', 'a') });
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain(message);
    // The registry's usage line of the command, not its whole help.
    expect(stderr).toContain(`arbiter ${usageLine(COMMANDS.ratings, 'cli')}`);
    expect(stderr).not.toContain('Options:');
  });

  it('prints help on --help and exits 0: usage, the votes format and every option, from the registry entry', async () => {
    const { code, stdout } = await run(['--help']);
    expect(code).toBe(0);
    expect(stdout).toBe(commandHelp(COMMANDS.ratings));
    expect(stdout).toContain(
      'Usage: arbiter ratings --votes FILE [--bootstrap N] [--seed N] [--contenders A,B,…] [--min-votes N] [--exclude-both-bad] [--json]',
    );
    expect(stdout).toContain('one vote per line: {"a": "<model>", "b": "<model>", "winner"');
    expect(stdout).toMatch(/--exclude-both-bad +do not count "both_bad" votes as games/);
    expect(stdout).toMatch(/--bootstrap N +bootstrap rounds for the intervals, 0 for none \(default 1000\)/);
  });

  it('exits 2 when the votes file cannot be read', async () => {
    const { code, stderr } = await run(['--votes', 'missing.jsonl']);
    expect(code).toBe(2);
    expect(stderr).toContain('Cannot read votes file missing.jsonl: ENOENT');
  });

  it('accepts a negative seed', async () => {
    const { code, stdout } = await run(['--votes', 'v', '--seed', '-5', '--bootstrap', '5'], {
      v: line('a', 'b', 'a'),
    });
    expect(code).toBe(0);
    expect(stdout).toContain('seed -5');
  });
});

describe('parseVotesJsonl', () => {
  it.each([
    { text: '', votes: 0, errors: [] },
    { text: `${line('a', 'b', 'a')}\n${line('b', 'c', 'both_bad')}\n`, votes: 2, errors: [] },
    { text: `${line('a', 'b', 'a')}\n{}\n${line('a', 'b', 'x')}`, votes: 0, errors: [2, 3] },
  ])('$text → $votes votes, bad lines $errors', ({ text, votes, errors }) => {
    const result = parseVotesJsonl(text);
    if (result.ok) {
      expect(result.votes).toHaveLength(votes);
      expect(errors).toEqual([]);
    } else {
      expect(result.errors.map((e) => e.line)).toEqual(errors);
    }
  });

  it('names every missing field of a line', () => {
    const result = parseVotesJsonl('{}');
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.errors[0]!.message).toContain('a: expected a contender name');
      expect(result.errors[0]!.message).toContain('b: expected a contender name');
      expect(result.errors[0]!.message).toContain('winner: expected');
    }
  });
});

import { describe, expect, it } from 'vitest';
import { resolveSuitePath } from './dispatch.ts';
import { hasRole } from '../chat/index.ts';
import { parseCommand, requiredRole, tokenize } from './parse.ts';

describe('parseCommand', () => {
  it.each([
    ['', { name: 'help' }],
    ['help', { name: 'help' }],
    ['help metrics', { name: 'help', topic: 'metrics' }],
    ['/arbiter run quickstart', { name: 'run', suite: 'quickstart' }],
    [
      'run examples/suites/quickstart.yaml --limit 5',
      { name: 'run', suite: 'examples/suites/quickstart.yaml', limit: 5 },
    ],
    ['run "my suite" --limit=2', { name: 'run', suite: 'my suite', limit: 2 }],
    ['runs', { name: 'runs.list' }],
    ['runs list', { name: 'runs.list' }],
    ['runs show run_1', { name: 'runs.show', id: 'run_1' }],
    ['runs compare a b', { name: 'runs.compare', a: 'a', b: 'b' }],
    ['runs cancel run_1', { name: 'runs.cancel', id: 'run_1' }],
    ['review r1 r2 r3', { name: 'review', runs: ['r1', 'r2', 'r3'] }],
    [
      'review r1 r2 --pairs 20 --reviewers=2 --dm --deadline 2d',
      {
        name: 'review',
        runs: ['r1', 'r2'],
        pairs: 20,
        reviewersPerPair: 2,
        dm: true,
        deadlineMs: 172_800_000,
      },
    ],
    ['review list', { name: 'review.list' }],
    ['review close rev_1', { name: 'review.close', id: 'rev_1' }],
    [
      'review reason bt_abcdefghijklmnopqrstuv A is more precise',
      { name: 'review.reason', token: 'bt_abcdefghijklmnopqrstuv', reason: 'A is more precise' },
    ],
    ['leaderboard', { name: 'leaderboard' }],
    ['monitor list', { name: 'monitor.list' }],
    ['monitor pause nightly', { name: 'monitor.pause', monitor: 'nightly' }],
    ['digest', { name: 'digest', now: false }],
    ['DIGEST now', { name: 'digest', now: true }],
    ['digest --period week', { name: 'digest', now: false, period: 'week' }],
    ['digest now --period=day', { name: 'digest', now: true, period: 'day' }],
  ])('%j', (text, command) => {
    expect(parseCommand(text)).toEqual({ ok: true, command });
  });

  it.each([
    ['frobnicate', 'Unknown command "frobnicate"'],
    ['run', 'exactly one suite'],
    ['run a b', 'exactly one suite'],
    ['run a --limit x', '--limit expects a whole number'],
    ['run a --limit 0', '--limit must be at least 1.'],
    ['review r1 r2 --reviewers 50', '--reviewers must be at most 20'],
    ['review r1 r2 --deadline 10s', '--deadline must be at least 1m'],
    ['run a --fast', 'unknown option --fast'],
    ['runs show', 'a run id'],
    ['runs compare a', 'two run ids'],
    ['runs delete x', 'Unknown runs command'],
    ['runs show bad/id', 'the id: expected an id'],
    ['review r1', 'at least two'],
    ['review r1 r2 --pairs x', '--pairs expects a whole number'],
    ['review r1 r2 --deadline soon', '--deadline expects a duration'],
    ['review r1 r2 --blind', 'unknown option --blind'],
    ['review close', 'review id'],
    ['review reason bt_x', 'ballot token and your reason'],
    ['review reason run_1 because', 'ballot token'],
    ['digest --period month', 'day or week'],
    ['monitor run', 'monitor list'],
    ['digest later', 'digest now'],
  ])('%j is a usage error', (text, error) => {
    const r = parseCommand(text);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error).toContain(error);
      // Plain words, never the validation library's own text.
      expect(r.error).not.toMatch(
        /Too (small|big)|Invalid input|expected number|reviewersPerPair|deadlineMs/,
      );
      expect(r.usage).toContain('runs compare');
    }
  });

  it('tokenizes quotes, including Slack smart quotes', () => {
    expect(tokenize("run “a b” 'c d' e")).toEqual(['run', 'a b', 'c d', 'e']);
  });
});

describe('roles', () => {
  it('launching is for admins, reading for everyone', () => {
    const role = (t: string) => {
      const r = parseCommand(t);
      if (!r.ok) throw new Error(r.error);
      return requiredRole(r.command);
    };
    expect(role('run x')).toBe('admin');
    expect(role('runs cancel x')).toBe('admin');
    expect(role('review a b')).toBe('admin');
    expect(role('monitor resume m')).toBe('admin');
    expect(role('runs list')).toBe('reader');
    expect(role('digest')).toBe('reader');
  });

  it.each([
    [{ admins: [], reviewers: [] }, 'U1', 'admin', true],
    [{ admins: ['U2'], reviewers: [] }, 'U1', 'admin', false],
    [{ admins: ['U2'], reviewers: [] }, 'U2', 'admin', true],
    [{ admins: ['U2'], reviewers: ['U1'] }, 'U1', 'reviewer', true],
    [{ admins: ['U2'], reviewers: ['U1'] }, 'U2', 'reviewer', true],
    [{ admins: ['U2'], reviewers: ['U1'] }, 'U3', 'reviewer', false],
    [{ admins: ['U2'], reviewers: [] }, 'U3', 'reader', true],
  ] as const)('%j %s %s → %s', (policy, user, role, expected) => {
    expect(hasRole(policy, user, role)).toBe(expected);
  });
});

describe('resolveSuitePath', () => {
  const cwd = process.cwd();
  it('finds a suite by name or by path inside SUITES_DIR', () => {
    expect(resolveSuitePath('quickstart', 'examples/suites', cwd)).toMatch(
      /examples\/suites\/quickstart\.yaml$/,
    );
    expect(resolveSuitePath('examples/suites/quickstart.yaml', 'examples/suites', cwd)).toMatch(
      /quickstart\.yaml$/,
    );
  });
  it('refuses paths outside SUITES_DIR and names a missing suite', () => {
    expect(() => resolveSuitePath('../../package.json', 'examples/suites', cwd)).toThrow(
      /outside the suites folder/,
    );
    expect(() => resolveSuitePath('/etc/passwd', 'examples/suites', cwd)).toThrow(
      /outside the suites folder/,
    );
    expect(() => resolveSuitePath('nope', 'examples/suites', cwd)).toThrow(/No suite "nope"/);
  });
});

describe('errorMessage', () => {
  it('shows our own errors with their hint, and only a reference for anything else', async () => {
    const { ArbiterError } = await import('../config/index.ts');
    const { errorMessage } = await import('./dispatch.ts');
    const own = JSON.stringify(
      errorMessage(new ArbiterError('NOT_FOUND', 'No run x.', { hint: 'List runs.' }), 'err_1'),
    );
    expect(own).toContain('No run x.');
    expect(own).toContain('List runs.');
    expect(own).toContain('err_1');
    const boom = errorMessage(new Error('secret detail\n    at f (x.ts:1:1)'), 'err_2');
    expect(boom.ephemeral).toBe(true);
    expect(JSON.stringify(boom)).not.toContain('secret detail');
    expect(JSON.stringify(boom)).toContain('err_2');
    // A stored document failing its schema carries the validator's words: only the reference reaches the user.
    const invalid = JSON.stringify(
      errorMessage(
        new ArbiterError(
          'STORE_INVALID_DOCUMENT',
          'A stored review does not match its schema: Invalid input',
        ),
        'err_3',
      ),
    );
    expect(invalid).not.toContain('Invalid input');
    expect(invalid).toContain('err_3');
  });
});

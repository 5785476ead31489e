// `run <name|path|suite name:>` means the same in Slack, the console and the CLI: a suite is found by its file
// name in SUITES_DIR, by its path, or by the `name:` field written in it.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { ArbiterError, closestName, yamlLib } from '../config/index.ts';

/** Where a suite may be read from: chat users only inside SUITES_DIR; the CLI user anywhere they can read. */
export interface SuiteLookup {
  suitesDir: string;
  /** Allow paths outside SUITES_DIR (the CLI: the person at the terminal owns the files). */
  anywhere?: boolean;
  cwd?: string;
}

function suiteFiles(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((f) => /\.ya?ml$/.test(f))
      .sort()
      .map((f) => join(dir, f));
  } catch {
    return [];
  }
}

/** The `name:` written in a suite file, or undefined when it cannot be read (its own load reports why). */
function declaredName(file: string): string | undefined {
  try {
    const doc = yamlLib().parse(readFileSync(file, 'utf8')) as { name?: unknown } | null;
    return typeof doc?.name === 'string' ? doc.name : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Resolves a suite reference to a file: a path (with or without `.yaml`), a file name in SUITES_DIR, or a suite's
 * `name:`. In chat, anything outside SUITES_DIR is refused. Unknown names get a did-you-mean over both kinds of name.
 */
export function findSuite(ref: string, lookup: SuiteLookup): string {
  const cwd = lookup.cwd ?? process.cwd();
  const dir = resolve(cwd, lookup.suitesDir);
  const inside = (p: string) => {
    const rel = relative(dir, p);
    return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
  };
  const allowed = (p: string) => lookup.anywhere === true || inside(p);
  const bases = [resolve(dir, ref), resolve(cwd, ref)];
  for (const base of bases)
    for (const p of [base, `${base}.yaml`, `${base}.yml`]) if (allowed(p) && existsSync(p)) return p;
  if (!lookup.anywhere && !bases.some(inside))
    throw new ArbiterError('USAGE', `Suite "${ref}" is outside the suites folder ${lookup.suitesDir}.`, {
      hint: 'Name a suite in SUITES_DIR, e.g. `run quickstart`.',
    });
  const files = suiteFiles(dir);
  const named = files.map((f) => ({ file: f, name: declaredName(f) }));
  const byName = named.filter((n) => n.name === ref);
  if (byName.length === 1) return byName[0]!.file;
  if (byName.length > 1)
    throw new ArbiterError(
      'USAGE',
      `${byName.length} suites in ${lookup.suitesDir} are named "${ref}": ${byName.map((n) => relative(dir, n.file)).join(', ')}.`,
      { hint: 'Name the file instead, e.g. `run quickstart.yaml`.' },
    );
  const candidates = [
    ...new Set([
      ...files.map((f) => relative(dir, f).replace(/\.ya?ml$/, '')),
      ...named.flatMap((n) => (n.name ? [n.name] : [])),
    ]),
  ];
  const guess = closestName(ref, candidates);
  throw new ArbiterError(
    'NOT_FOUND',
    `No suite "${ref}" in ${lookup.suitesDir}.${guess ? ` Did you mean "${guess}"?` : ''}`,
    {
      hint: candidates.length
        ? `Suites: ${candidates.slice(0, 20).join(', ')}.`
        : 'Add a suite YAML file to SUITES_DIR (see examples/suites/).',
    },
  );
}

// Generates the README's environment table and .env.example from config/'s ENV_VARS, so the docs cannot drift.
// `node --import tsx test/helpers/env-docs.ts --write` rewrites both; test/docs.test.ts checks they are current.
import { readFileSync, writeFileSync } from 'node:fs';
import type { z } from 'zod';
import { ENV_VARS, type EnvVarName, envValueText } from '../../config/env.ts';

function defaultOf(name: EnvVarName, schema: z.ZodType): string | undefined {
  const r = schema.safeParse(undefined);
  if (!r.success || r.data === undefined) return undefined;
  return envValueText(name, r.data);
}

/** The Markdown table of every variable: name, default, secret, purpose. */
export function envTableMarkdown(): string {
  const rows = ['| Variable | Default | Secret | What it does |', '|---|---|---|---|'];
  for (const [name, spec] of Object.entries(ENV_VARS)) {
    const def = defaultOf(name as EnvVarName, spec.schema);
    rows.push(
      `| \`${name}\` | ${def ? `\`${def}\`` : '—'} | ${spec.secret ? 'yes' : ''} | ${spec.doc.replace(/\|/g, '\\|')} |`,
    );
  }
  return rows.join('\n');
}

/** The content of .env.example: every variable commented out at its default. */
export function envExample(): string {
  const lines = [
    '# Arbiter environment. Every variable is optional; the defaults are the embedded setup of `npm start`.',
    '# Uncomment and set what you need. Secrets (marked) never appear in logs.',
    '',
  ];
  for (const [name, spec] of Object.entries(ENV_VARS)) {
    lines.push(
      `# ${spec.doc}${spec.secret ? ' (secret)' : ''}`,
      `# ${name}=${defaultOf(name as EnvVarName, spec.schema) ?? ''}`,
      '',
    );
  }
  return lines.join('\n');
}

const START = '<!-- env-table:start -->';
const END = '<!-- env-table:end -->';

/** README with its environment table replaced by the generated one. */
export function readmeWithTable(readme: string): string {
  const a = readme.indexOf(START);
  const b = readme.indexOf(END);
  if (a < 0 || b < 0) throw new Error(`README.md needs ${START} and ${END} markers`);
  return `${readme.slice(0, a + START.length)}\n${envTableMarkdown()}\n${readme.slice(b)}`;
}

if (process.argv.includes('--write')) {
  writeFileSync('README.md', readmeWithTable(readFileSync('README.md', 'utf8')));
  writeFileSync('.env.example', envExample());
  process.stdout.write('README.md and .env.example regenerated\n');
}

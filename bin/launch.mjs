// Chooses how `npm start` and `arbiter` run: the compiled JavaScript in dist/ (built by `npm run build`, which
// `npm install` runs through `prepare`) when it is at least as new as every TypeScript source, else the sources
// through tsx (slower to start: every module is transpiled on load) with a one-line note on stderr.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** Written by bin/build.mjs after a successful compile; its mtime is the build time. */
export const STAMP = join(root, 'dist', '.built');
/** The folders compiled to dist/ (tsconfig.build.json). */
export const SOURCE_DIRS = [
  'app',
  'audit',
  'bot',
  'chat',
  'cli',
  'commands',
  'config',
  'digests',
  'evaluators',
  'langfuse',
  'llm',
  'monitors',
  'prompts',
  'reviews',
  'runs',
  'storage',
  'web',
];

function newestSource(dir, newest) {
  let latest = newest;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) latest = newestSource(path, latest);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) {
      latest = Math.max(latest, statSync(path).mtimeMs);
    }
  }
  return latest;
}

/** Why dist/ cannot be used (missing or older than a source), or undefined when it is current. */
export function distProblem() {
  if (!existsSync(STAMP)) return 'no compiled build (dist/)';
  const built = statSync(STAMP).mtimeMs;
  for (const dir of SOURCE_DIRS) {
    const path = join(root, dir);
    if (existsSync(path) && newestSource(path, 0) > built) return `dist/ is older than ${dir}/`;
  }
  return undefined;
}

/** Runs `entry` (a path under the repository without extension, e.g. `cli/main`) from dist/ or the sources. */
export async function launch(entry) {
  const problem = distProblem();
  if (!problem) {
    await import(pathToFileURL(join(root, 'dist', `${entry}.js`)).href);
    return;
  }
  process.stderr.write(
    `note: ${problem}; running the TypeScript sources (run \`npm run build\` to start faster)\n`,
  );
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(join(root, `${entry}.ts`)).href);
}

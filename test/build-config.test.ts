// The compiled build (tsconfig.build.json → dist/) and the launcher's staleness check (bin/launch.mjs) must cover
// every source folder: a folder missing from either would run stale or missing JavaScript after `npm start`.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SOURCE_DIRS } from '../bin/launch.mjs';

const root = join(import.meta.dirname, '..');
/** Folders at the root holding an index.ts: the layered source folders of ARCHITECTURE.md. */
const sourceFolders = readdirSync(root, { withFileTypes: true })
  .filter((d) => d.isDirectory() && !d.name.startsWith('.') && d.name !== 'node_modules' && d.name !== 'dist')
  .filter((d) => existsSync(join(root, d.name, 'index.ts')))
  .map((d) => d.name)
  .sort();

describe('build coverage', () => {
  it('finds the source folders', () => {
    expect(sourceFolders).toContain('runs');
    expect(sourceFolders).toContain('audit');
  });
  it('tsconfig.build.json compiles every source folder (and bot/, cli/, the entry points)', () => {
    const build = JSON.parse(readFileSync(join(root, 'tsconfig.build.json'), 'utf8')) as {
      include: string[];
    };
    expect([...build.include].sort()).toEqual([...sourceFolders, 'bot', 'cli'].sort());
  });
  it('tsconfig.json type-checks every source folder with its tests (`npx tsc --noEmit` in CI)', () => {
    const config = JSON.parse(readFileSync(join(root, 'tsconfig.json'), 'utf8')) as { include: string[] };
    const missing = [...sourceFolders, 'bot', 'cli', 'test'].filter((f) => !config.include.includes(f));
    expect(missing).toEqual([]);
  });
  it('the launcher checks every compiled folder for staleness', () => {
    const build = JSON.parse(readFileSync(join(root, 'tsconfig.build.json'), 'utf8')) as {
      include: string[];
    };
    expect([...(SOURCE_DIRS as string[])].sort()).toEqual([...build.include].sort());
  });
});

// `npm run bench`: runs every test/bench/*.bench.ts (or those named on the command line) and prints figures.
// Benchmarks report medians and ratios; they never fail because of speed.
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)))
  .sort();

const results: Record<string, Record<string, number | string>> = {};
for (const file of files) {
  const mod = (await import(join(here, file))) as { run?: () => Promise<Record<string, number | string>> };
  if (typeof mod.run !== 'function') continue;
  try {
    results[file] = await mod.run();
  } catch (err) {
    process.stdout.write(`\n== ${file}: FAILED: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}
process.stdout.write(`\nbenchmarks run: ${Object.keys(results).length} of ${files.length}\n`);

// `npm run build` (and `prepare`, which `npm install` runs): compiles the sources to dist/ with tsc
// (tsconfig.build.json rewrites the `.ts` import extensions to `.js`), then stamps the build time that
// bin/launch.mjs compares with the sources. A failed build leaves no dist/, so start falls back to tsx.
import { spawnSync } from 'node:child_process';
import { rmSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const started = Date.now();
rmSync(dist, { recursive: true, force: true });
let tsc;
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
} catch {
  // An install without devDependencies (`npm install --omit=dev`) has no TypeScript compiler.
  process.stderr.write('build skipped: TypeScript (a devDependency) is not installed\n');
}
const result = tsc
  ? spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' })
  : { status: 1 };
if (result.status !== 0) {
  rmSync(dist, { recursive: true, force: true });
  process.stderr.write(
    'build failed: `npm start` and `arbiter` will run the TypeScript sources through tsx\n',
  );
  process.exit(process.argv.includes('--lenient') ? 0 : 1);
}
const stamp = join(dist, '.built');
writeFileSync(stamp, `${new Date(started).toISOString()}\n`);
// The stamp carries the time the compile started: a source saved during the build counts as newer.
utimesSync(stamp, started / 1000, started / 1000);
process.stdout.write(`built dist/ in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);

// `node --import ./test/helpers/record-modules.mjs …` records every module the process loads into the file named by
// RECORD_MODULES_TO, one file URL a line: ES modules through a resolve hook (test/helpers/record-hooks.mjs),
// CommonJS modules from require's cache when the process exits (Node 20 does not pass `require` through the hooks).
// Used by test/startup.test.ts to check which packages a command loads.
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { pathToFileURL } from 'node:url';

const out = process.env.RECORD_MODULES_TO;
if (out) {
  register('./record-hooks.mjs', import.meta.url);
  const cache = createRequire(import.meta.url).cache;
  process.on('exit', () => {
    appendFileSync(
      out,
      Object.keys(cache)
        .map((path) => `${pathToFileURL(path).href}\n`)
        .join(''),
    );
  });
}

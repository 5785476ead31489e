// Resolve hook of test/helpers/record-modules.mjs: appends every resolved ES module URL to RECORD_MODULES_TO.
import { appendFileSync } from 'node:fs';

export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  appendFileSync(process.env.RECORD_MODULES_TO, `${resolved.url}\n`);
  return resolved;
}

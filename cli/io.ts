import { readFile } from 'node:fs/promises';
import type { CliIo } from '../commands/index.ts';

export type { CliIo } from '../commands/index.ts';

/** The real process streams and file system. */
export const processIo: CliIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  readFile: (p) => readFile(p, 'utf8'),
  isTTY: process.stderr.isTTY === true,
};

// Loads two heavy packages the way the sources do (a CommonJS require at the point of use), and prints a line:
// test/startup.test.ts runs it to show that its module recorder would catch them.
import { createRequire } from 'node:module';

const requireCjs = createRequire(import.meta.url);
requireCjs('@langchain/langgraph');
requireCjs('ajv');
process.stdout.write('loaded\n');

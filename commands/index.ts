// Public surface of commands/: what other folders may import.
export {
  type DispatchDeps,
  dispatch,
  errorMessage,
  notice,
  precheck,
  runProgressMessage,
  usageMessage,
} from './dispatch.ts';
export { parseCommand } from './parse.ts';
export {
  type CliIo,
  commandHelp,
  matchEntry,
  parseWords,
  type Parsed,
  type Registry,
  usageLine,
} from './registry.ts';
export { CLI_HELP, COMMANDS } from './table.ts';
export { renderRunSummary } from './run-messages.ts';
export type { ChannelAccess, ChannelPostCheck } from './channel-access.ts';
export { createDigestInputs } from './digest.ts';
export { createReviewRunSource } from './reviews.ts';
export { createHomeReads, type HomeReads } from './home.ts';
export type { CliRuns, CliServices } from './services.ts';

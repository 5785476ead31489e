// Public surface of commands/: what other folders may import.
export {
  type CommandReply,
  type DispatchContext,
  type DispatchDeps,
  dispatch,
  errorMessage,
  notice,
  precheck,
  runProgressMessage,
  usageMessage,
} from './dispatch.ts';
export { type Command, COMMAND_USAGE, parseCommand, requiredRole } from './parse.ts';
export {
  type CliContext,
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
export { runRunCommand, runRunsCommand } from './runs-cli.ts';
export type { ChannelAccess, ChannelPostCheck } from './channel-access.ts';
export { createDigestInputs, runDigestCli } from './digest.ts';
export {
  createReviewRunSource,
  leaderboardCommand,
  reviewCloseCommand,
  reviewCommand,
  reviewListCommand,
} from './reviews.ts';
export { HELP_TOPICS, helpTopicText } from './help.ts';
export { createHomeReads, type HomeReads } from './home.ts';
export type { CliRuns, CliServices } from './services.ts';
export { runRatingsCli } from './ratings.ts';

// Public surface of commands/: what other folders may import.
export {
  errorMessage,
  notice,
  type DispatchDeps,
  dispatch,
  usageMessage,
  runProgressMessage,
  precheck,
} from './dispatch.ts';
export { parseCommand } from './parse.ts';
export { renderRunSummary, runRunCommand, runRunsCommand } from './runs.ts';
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
export { runRatingsCli } from './ratings.ts';
export { AUDIT_USAGE, auditCommand, parseAuditArgs, runAuditCli } from './audit.ts';

// Public surface of prompts/: the Langfuse webhook (verify, dedupe, dispatch), prompt-change alerts and the prompt cache.
export {
  alertButtons,
  buildPromptAlert,
  chunkLines,
  type AlertDiff,
  type PromptAlertInput,
  type SuiteButton,
} from './alert-message.ts';
export {
  createChannelResolver,
  parsePromptAlertsMap,
  PromptAlertsMapSchema,
  type PromptChannelRule,
} from './channels.ts';
export {
  chatDiffLines,
  diffConfig,
  diffPrompts,
  diffSequences,
  renderPromptDiff,
  unifiedLines,
  type ConfigChange,
  type PromptContent,
  type PromptDiff,
} from './diff.ts';
export {
  createPromptEventHandlers,
  DEFAULT_SETTLE_MS,
  monitorAlertMessage,
  PROMPT_ALERT_JOB,
  type AlertRecordDoc,
  type ChangeBatchDoc,
  type LangfuseEventDoc,
  type PromptEventsDeps,
} from './events.ts';
export {
  describeMove,
  summarizeChange,
  type LabelMove,
  type PromptChange,
  type VersionEvent,
} from './label-moves.ts';
export {
  createPromptCache,
  type CachedPrompt,
  type PromptCache,
  type PromptCacheOptions,
} from './prompt-cache.ts';
export {
  LANGFUSE_SIGNATURE_MAX_SKEW_SECONDS,
  parseSignatureHeader,
  signLangfuseWebhook,
  verifyLangfuseSignature,
  type LangfuseSignatureFailure,
  type LangfuseSignatureResult,
} from './signature.ts';
export {
  actionToken,
  createProductionVersionLookup,
  createPromptActionHandler,
  handlePromptAction,
  openPromptActions,
  PROMPT_ACTION_IDS,
  PromptActionSchema,
  type BlindReviewOpener,
  type PromptAction,
  type PromptActionDeps,
  type RunLauncher,
  type RunLaunchOptions,
  type WatchingSuite,
  type WatchingSuites,
} from './suites.ts';
export {
  createLangfuseWebhookRoute,
  MAX_WEBHOOK_BODY_BYTES,
  PROMPT_EVENT_JOB,
  webhookIdempotencyKey,
  type LangfuseWebhookRouteDeps,
  type PromptEventJobPayload,
} from './webhook-route.ts';
export {
  parseWebhookEvent,
  PromptVersionEventSchema,
  WebhookEnvelopeSchema,
  type LangfuseWebhookEvent,
  type PromptVersionEvent,
} from './webhook-schema.ts';

// Public surface of prompts/: the Langfuse webhook (verify, dedupe, dispatch), prompt-change alerts and the prompt cache.
export { createChannelResolver, parsePromptAlertsMap } from './channels.ts';
export { createPromptEventHandlers } from './events.ts';
export { createPromptCache } from './prompt-cache.ts';
export { createProductionVersionLookup, createPromptActionHandler, openPromptActions } from './suites.ts';
export { createLangfuseWebhookRoute } from './webhook-route.ts';

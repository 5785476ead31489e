import { formatMetricsHelp } from '../evaluators/index.ts';

/** Help topics shared by `/arbiter help <topic>` and `arbiter help <topic>`. */
export const HELP_TOPICS = ['metrics'] as const;

/** Text of a help topic, or undefined for an unknown one. */
export function helpTopicText(topic: string): string | undefined {
  if (topic === 'metrics') return formatMetricsHelp();
  return undefined;
}

// What the long-running process checks before it opens anything: the LLM configuration, the prompt alert map, and
// the monitor and digest YAML (a bad file stops start-up with file:line:field, exit 2).
import { ArbiterError, type Env, type Logger } from '../config/index.ts';
import { loadDigests } from '../digests/index.ts';
import { checkLlmConfig } from '../llm/index.ts';
import { loadMonitors } from '../monitors/index.ts';
import { parsePromptAlertsMap } from '../prompts/index.ts';

/** The checked configuration of the bot process. */
export interface AppConfig {
  monitors: ReturnType<typeof loadMonitors>;
  digests: ReturnType<typeof loadDigests>;
  /** PROMPT_ALERTS_MAP's rules (channels as written: the front door resolves `#names`). */
  promptAlertRules: Extract<ReturnType<typeof parsePromptAlertsMap>, { ok: true }>['value'];
}

/** Checks the configuration and loads the YAML of the bot process; throws CONFIG_INVALID or the loader's error. */
export function loadAppConfig(env: Env, logger: Logger): AppConfig {
  // Checked before anything is opened or written: a judge model whose provider has no key is a config error.
  const alertsMap = parsePromptAlertsMap(env.PROMPT_ALERTS_MAP);
  const llmProblems = [
    ...checkLlmConfig(env),
    ...(alertsMap.ok ? [] : [`PROMPT_ALERTS_MAP: ${alertsMap.error}`]),
  ];
  if (llmProblems.length > 0) {
    throw new ArbiterError(
      'CONFIG_INVALID',
      `Arbiter cannot start: LLM configuration:\n${llmProblems.map((p) => `  - ${p}`).join('\n')}`,
      {
        hint: 'See the LLM section of the README.',
      },
    );
  }
  // Digests naming a monitor that does not exist stop start-up too; old forms load with a warning in the log.
  const monitors = loadMonitors(env.MONITORS_DIR);
  const digests = loadDigests(env.DIGESTS_DIR, { monitorNames: monitors.map((m) => m.value.name) });
  for (const w of [...monitors, ...digests].flatMap((l) => l.warnings)) logger.warn(`warning: ${w}`);
  return { monitors, digests, promptAlertRules: alertsMap.ok ? alertsMap.value : [] };
}

// Prompt-change seams implemented over SUITES_DIR: which suites watch a prompt (`watch: { prompts: [...] }`), and
// a launcher that runs a suite by name with its `prompt` target pinned to one version. The shapes match
// prompts/suites.ts (WatchingSuites, RunLauncher) structurally, so runs/ does not import prompts/.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { ArbiterError, type Logger } from '../config/index.ts';
import type { RunService, StartRunOptions } from './service.ts';
import { parseSuite, type Suite } from './suite.ts';
import type { RunTrigger } from './types.ts';

/** A suite watching a prompt, as the prompt alert needs it. */
export interface WatchingSuiteInfo {
  name: string;
  file?: string;
  onChange?: 'run';
  labels?: string[];
}

/** What the suite folder readers need. */
export interface SuitesDirDeps {
  /** The suites folder (SUITES_DIR). */
  suitesDir: string;
  /** Environment for `${ENV:NAME}` header checks of http targets. */
  env: Record<string, string | undefined>;
  logger: Logger;
}

type Entry = { mtimeMs: number; size: number; suite: Suite | undefined };

/**
 * Reads every suite of the folder, re-parsing only files that changed since the last call. A suite that does not
 * load is logged (once per version of the file) and left out: one broken file must not silence the others.
 */
export function createSuiteCatalog(deps: SuitesDirDeps): { suites(): Suite[] } {
  const dir = resolve(deps.suitesDir);
  const cache = new Map<string, Entry>();
  return {
    suites() {
      let names: string[];
      try {
        names = readdirSync(dir).filter((f) => ['.yaml', '.yml'].includes(extname(f).toLowerCase()));
      } catch (err) {
        deps.logger.warn(
          { dir, code: (err as NodeJS.ErrnoException).code },
          'cannot read the suites folder (SUITES_DIR)',
        );
        return [];
      }
      const out: Suite[] = [];
      const seen = new Set<string>();
      for (const name of names.sort()) {
        const file = join(dir, name);
        seen.add(file);
        let st: { mtimeMs: number; size: number };
        try {
          st = statSync(file);
        } catch {
          continue;
        }
        let entry = cache.get(file);
        if (!entry || entry.mtimeMs !== st.mtimeMs || entry.size !== st.size) {
          let suite: Suite | undefined;
          try {
            const parsed = parseSuite(readFileSync(file, 'utf8'), file, deps.env);
            if (parsed.ok) suite = parsed.suite;
            else
              deps.logger.warn(
                {
                  file,
                  problems: parsed.problems.slice(0, 3).map((p) => `${p.line}: ${p.field}: ${p.message}`),
                },
                'suite skipped: it does not load',
              );
          } catch (err) {
            deps.logger.warn({ file, err: (err as Error).message }, 'suite skipped: it does not load');
          }
          entry = { mtimeMs: st.mtimeMs, size: st.size, suite };
          cache.set(file, entry);
        }
        if (entry.suite) out.push(entry.suite);
      }
      for (const file of cache.keys()) if (!seen.has(file)) cache.delete(file);
      return out;
    },
  };
}

/** Finds the suites watching a prompt (WatchingSuites of prompts/suites.ts) over SUITES_DIR. */
export function createSuiteWatcher(deps: SuitesDirDeps): {
  suitesWatching(promptName: string): WatchingSuiteInfo[];
} {
  const catalog = createSuiteCatalog(deps);
  return {
    suitesWatching(promptName) {
      return catalog
        .suites()
        .filter((s) => s.watch?.prompts.includes(promptName))
        .map((s) => ({
          name: s.name,
          file: s.file,
          ...(s.watch?.onChange ? { onChange: s.watch.onChange } : {}),
          ...(s.watch?.labels ? { labels: s.watch.labels } : {}),
        }));
    },
  };
}

/** The suite with `name` (its `name:` field, else its file name without extension), or a NOT_FOUND error. */
export function findSuite(suites: readonly Suite[], name: string, suitesDir: string): Suite {
  const byName = suites.find((s) => s.name === name);
  const found = byName ?? suites.find((s) => basename(s.file, extname(s.file)) === name);
  if (!found)
    throw new ArbiterError('NOT_FOUND', `No suite named "${name}" in ${suitesDir}.`, {
      hint: 'Suites are the YAML files of SUITES_DIR; a suite that does not load is skipped (see the log).',
    });
  return found;
}

/** The suite with its `prompt` target pinned to one version of the named prompt (label dropped). */
export function pinPromptVersion(suite: Suite, prompt: { name: string; version: number }): Suite {
  if (suite.target.type !== 'prompt')
    throw new ArbiterError(
      'USAGE',
      `${suite.file}: suite "${suite.name}" has a '${suite.target.type}' target; only a \`prompt\` target can be pinned to a prompt version.`,
    );
  if (suite.target.name !== prompt.name)
    throw new ArbiterError(
      'USAGE',
      `${suite.file}: suite "${suite.name}" evaluates prompt '${String(suite.target.name)}', not '${prompt.name}'.`,
    );
  const { label: _label, version: _version, ...rest } = suite.target;
  return { ...suite, target: { ...rest, type: 'prompt', version: prompt.version } };
}

/** What a launch asks for (RunLaunchOptions of prompts/suites.ts). */
export interface LaunchOptions {
  prompt: { name: string; version: number };
  reason: RunTrigger['reason'];
  idempotencyKey: string;
  requestedBy?: string;
}

/** Starts runs of suites by name with a pinned prompt version (RunLauncher of prompts/suites.ts). */
export function createRunLauncher(
  deps: SuitesDirDeps & {
    /** The run service (a function when it is built after the launcher). */
    runs: RunService | (() => RunService);
    /** Options for every launched run (e.g. concurrency). */
    runOptions?: Pick<StartRunOptions, 'concurrency' | 'limit'>;
  },
): { startRun(suiteName: string, options: LaunchOptions): Promise<{ runId: string }> } {
  const catalog = createSuiteCatalog(deps);
  return {
    async startRun(suiteName, options) {
      const suite = pinPromptVersion(findSuite(catalog.suites(), suiteName, deps.suitesDir), options.prompt);
      const runs = typeof deps.runs === 'function' ? deps.runs() : deps.runs;
      const { runId, created } = await runs.startRun(suite, {
        ...deps.runOptions,
        idempotencyKey: options.idempotencyKey,
        // The key alone decides: resuming an unfinished run of the same pinned suite would hand a Compare click the
        // run a Run click (or onChange) started, under that run's trigger and without recording this key, so a
        // retry of the same click after that run finished would start a second run (and a second review).
        resume: false,
        trigger: {
          reason: options.reason,
          prompt: options.prompt,
          ...(options.requestedBy ? { requestedBy: options.requestedBy } : {}),
        },
      });
      deps.logger.info(
        { runId, suite: suite.name, prompt: options.prompt.name, version: options.prompt.version, created },
        'run launched for a prompt change',
      );
      return { runId };
    },
  };
}

// Runs a CLI handler as `arbiter` does: with the one CLI composition of app/ (here over the test's own store, model,
// clock… where it passes them), closed once afterwards.
import { createCliServices } from '../../app/index.ts';
import type { CliOverrides } from '../../app/cli.ts';
import type { CliServices } from '../../commands/index.ts';
import type { Env } from '../../config/index.ts';

/** Handler deps as tests write them: the environment, and the parts they put in place of the configured ones. */
export type TestCliDeps = { env: Env; environment?: Record<string, string | undefined> } & CliOverrides;

/** Calls `run` with `deps` plus `services` composed from them; the services are closed when it returns. */
export async function withCliServices<D extends TestCliDeps, R>(
  deps: D,
  run: (deps: D & { services: CliServices }) => Promise<R>,
): Promise<R> {
  const { env, environment, store, llm, prompts, fetch, clock, ids, logger, engine } = deps;
  const overrides: CliOverrides = {
    ...(store ? { store } : {}),
    ...(llm ? { llm } : {}),
    ...(prompts ? { prompts } : {}),
    ...(fetch ? { fetch } : {}),
    ...(clock ? { clock } : {}),
    ...(ids ? { ids } : {}),
    ...(logger ? { logger } : {}),
    ...(engine ? { engine } : {}),
  };
  const services = createCliServices(env, environment ?? {}, overrides);
  try {
    return await run({ ...deps, services });
  } finally {
    await services.close();
  }
}

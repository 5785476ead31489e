// The `arbiter` front door: argv through the one command registry (commands/), then the command's CLI handler.
// Its one error handler turns a coded error into stderr and an exit code: 2 usage or configuration, 3
// infrastructure (the handlers return 1 for a quality verdict below the threshold), never a stack trace.
import { randomUUID } from 'node:crypto';
import {
  CLI_HELP,
  COMMANDS,
  commandHelp,
  matchEntry,
  type Parsed,
  parseWords,
  type Registry,
  usageLine,
} from '../commands/index.ts';
import {
  ArbiterError,
  createScrubber,
  type Env,
  formatUserError,
  isCodedError,
  parseEnv,
  registerEnvSecrets,
  secretValues,
} from '../config/index.ts';
import type { CliServices } from '../commands/index.ts';
import type { CliIo } from './io.ts';
import { runLinkCli } from './links.ts';

/** A usage mistake as the CLI says it: the problem, then the relevant usage lines (or the command list). */
export function usageError(parsed: Extract<Parsed, { ok: false }>): ArbiterError {
  const lines = parsed.usage.length
    ? parsed.usage.map((l) => `  ${l}`)
    : // An unknown command: the commands, one usage line each, without their descriptions.
      Object.values(COMMANDS as Registry)
        .filter((c) => c.cli && !c.hidden)
        .map((c) => `  arbiter ${c.words.join(' ')}`);
  return new ArbiterError('USAGE', parsed.error, {
    hint: `Usage:\n${[...new Set(lines)].join('\n')}`,
  });
}

/** Runs one CLI invocation and returns its exit code; errors become a message on stderr, never a stack trace. */
export async function runCli(
  argv: string[],
  environment: Record<string, string | undefined>,
  io: CliIo,
): Promise<number> {
  let scrub = (s: string) => s;
  let services: CliServices | undefined;
  try {
    if (argv.length === 0) {
      io.stdout(CLI_HELP());
      return 0;
    }
    const helpAt = argv.findIndex((w) => w === '--help' || w === '-h');
    if (helpAt > 0) {
      // `arbiter <command> --help`: that command's usage and summary (and its details and flags, when it has them).
      const found = matchEntry(COMMANDS as Registry, argv.slice(0, helpAt));
      const isGroup = found?.used === 1 && found.entry.words.length > 1;
      if (found && !isGroup) {
        io.stdout(commandHelp(found.entry));
        return 0;
      }
      if (!found || isGroup) {
        const group = Object.values(COMMANDS as Registry).filter(
          (c) => c.words[0] === argv[0]?.toLowerCase(),
        );
        if (group.length) {
          io.stdout(
            `Usage:\n${group.map((c) => `  arbiter ${usageLine(c, 'cli')}\n      ${c.summary}`).join('\n')}\n`,
          );
          return 0;
        }
      }
    }
    const parsed = parseWords(COMMANDS, argv, 'cli');
    if (!parsed.ok) throw usageError(parsed);
    const { entry, args } = parsed;
    let env = {} as Env;
    if (!entry.standalone) {
      env = parseEnv(environment);
      registerEnvSecrets(env);
      scrub = createScrubber(secretValues(env));
      // The one composition of this invocation: nothing is opened until a handler asks for it.
      services = lazyCliServices(env, environment);
    }
    const opened = services ?? NO_SERVICES;
    return await entry.cli!(args, {
      env,
      environment,
      io,
      reportLink: (kind, id) => runLinkCli(kind, id, { env, io, services: opened }),
      services: opened,
    });
  } catch (err) {
    if (isCodedError(err)) {
      io.stderr(`${scrub(formatUserError(err))}\n`);
      return err.exitCode;
    }
    const ref = randomUUID().slice(0, 8);
    io.stderr(
      `Unexpected error (reference ${ref}): ${scrub(err instanceof Error ? err.message.split('\n')[0]! : String(err))}\n`,
    );
    return 3;
  } finally {
    // Closed once, whatever the outcome: batched cache writes and spans flushed, the store closed if it was opened.
    await services?.close();
  }
}

/** What a standalone command (no environment) gets: it never reads the store, so each part refuses. */
const NO_SERVICES: CliServices = (() => {
  const none = () => Promise.reject(new Error('a standalone command has no store or services'));
  return {
    store: none,
    queue: none,
    audit: none,
    llm: none,
    runReader: none,
    runs: none,
    reviews: none,
    digests: none,
    reportUrl: none,
    close: async () => {},
  };
})();

/**
 * The CLI composition of app/, loaded on the first use of a service: app/ also composes the bot process (prompts,
 * web/…), which a command that only describes (`arbiter config`) must not load (test/startup.test.ts).
 */
function lazyCliServices(env: Env, environment: Record<string, string | undefined>): CliServices {
  let built: Promise<CliServices> | undefined;
  const get = () => {
    built ??= (async () => {
      const { createCliServices } = await import('../app/index.ts');
      return createCliServices(env, environment);
    })();
    return built;
  };
  return {
    store: async () => (await get()).store(),
    queue: async () => (await get()).queue(),
    audit: async () => (await get()).audit(),
    llm: async () => (await get()).llm(),
    runReader: async () => (await get()).runReader(),
    runs: async () => (await get()).runs(),
    reviews: async () => (await get()).reviews(),
    digests: async (transport) => (await get()).digests(transport),
    reportUrl: async (kind, id) => (await get()).reportUrl(kind, id),
    close: async () => {
      if (built) await (await built).close();
    },
  };
}

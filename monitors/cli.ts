// `arbiter monitor list | run <name> [--dry-run] | pause <name> | resume <name> | backfill <name> --since <date>`:
// returns an exit code.
import { cliActor, createAuditLog } from '../audit/index.ts';
import { type Message, messageToText } from '../chat/index.ts';
import type { PostedRef, Transport } from '../chat/index.ts';
import {
  ArbiterError,
  type Clock,
  closestName,
  createSilentLogger,
  type Env,
  formatUserError,
  isCodedError,
  type Logger,
  parseFlags,
  systemClock,
} from '../config/index.ts';
import { type LangfuseClient, langfuseFromEnv } from '../langfuse/index.ts';
import type { Llm } from '../llm/index.ts';
import { createLeases, type DocumentStore } from '../storage/index.ts';
import { loadMonitors, type Monitor } from './schema.ts';
import { auditManualTick, dryRunExtractor, listMonitors, setMonitorPaused } from './service.ts';
import { createMonitorStore } from './store.ts';
import { type MonitorDeps, runTick } from './tick.ts';

const USAGE = `Usage:
  arbiter monitor list
  arbiter monitor run <name> [--dry-run] [--records N]
  arbiter monitor pause <name>      skip its scheduled ticks (every replica, across restarts)
  arbiter monitor resume <name>
  arbiter monitor backfill <name> --since <date>`;

/** What the monitor CLI needs; tests inject a transport, clock and Langfuse client. */
export interface MonitorCliDeps {
  env: Env;
  io: { stdout(text: string): void; stderr(text: string): void };
  /** The configured store and model client, opened on first use (the CLI services of app/). */
  services: { store(): Promise<DocumentStore>; llm(): Promise<Llm> };
  transport?: Transport;
  clock?: Clock;
  langfuse?: LangfuseClient;
  logger?: Logger;
}

function textTransport(write: (t: string) => void): Transport {
  let n = 0;
  const post = async (target: { channel: string }, message: Message): Promise<PostedRef> => {
    n += 1;
    write(`${messageToText(message)}\n`);
    return { channel: target.channel, ts: `cli.${n}` };
  };
  return {
    name: 'console',
    post,
    update: async (_ref, message) => void (await post({ channel: '' }, message)),
    postEphemeral: async (target, message) => void (await post(target, message)),
    uploadFile: async (_t, file) => write(`(file ${file.path})\n`),
  };
}

function find(monitors: Monitor[], name: string | undefined): Monitor {
  if (!name) throw new ArbiterError('USAGE', 'Which monitor?', { hint: USAGE });
  const m = monitors.find((x) => x.name === name);
  if (!m) {
    const guess = closestName(
      name,
      monitors.map((x) => x.name),
    );
    throw new ArbiterError(
      'NOT_FOUND',
      `No monitor named "${name}".${guess ? ` Did you mean "${guess}"?` : ''} Known: ${monitors.map((x) => x.name).join(', ') || '(none)'}.`,
    );
  }
  return m;
}

/** Runs one `arbiter monitor …` invocation; errors become one line on stderr and an exit code. */
export async function runMonitorCli(argv: string[], deps: MonitorCliDeps): Promise<number> {
  const { env, io } = deps;
  const logger = deps.logger ?? createSilentLogger();
  try {
    const [sub, ...rest] = argv;
    if (!sub || sub === 'help' || sub === '--help') {
      io.stdout(`${USAGE}\n`);
      return sub ? 0 : 2;
    }
    if (!['list', 'run', 'pause', 'resume', 'backfill'].includes(sub))
      throw new ArbiterError('USAGE', `Unknown monitor command "${sub}".`, { hint: USAGE });
    const parsed = parseFlags(rest, {
      allowPositionals: true,
      usage: USAGE.replace(/^Usage:\n\s*/, ''),
      options: { 'dry-run': { type: 'boolean' }, records: { type: 'string' }, since: { type: 'string' } },
    });
    const values = parsed.values as { 'dry-run'?: boolean; records?: string; since?: string };
    const [name] = parsed.positionals;
    const loaded = loadMonitors(env.MONITORS_DIR);
    // Old forms still load, with a warning on stderr naming the file, line and the new form.
    for (const w of loaded.flatMap((l) => l.warnings)) io.stderr(`warning: ${w}\n`);
    const monitors = loaded.map((l) => l.value);
    const clock = deps.clock ?? systemClock;
    const langfuse = deps.langfuse ?? langfuseFromEnv(env, { logger });
    if (sub === 'run' && values['dry-run']) {
      const m = find(monitors, name);
      const n = Number(values.records ?? 5);
      if (!Number.isInteger(n) || n < 1)
        throw new ArbiterError(
          'USAGE',
          `--records expects a whole number above 0 (got "${values.records}").`,
          {
            hint: 'Usage: arbiter monitor run <name> [--dry-run] [--records N]',
          },
        );
      const res = await dryRunExtractor(
        m,
        {
          clock,
          maxFieldBytes: env.RECORD_FIELD_MAX_BYTES,
          ...(langfuse ? { langfuse, langfuseBaseUrl: env.LANGFUSE_BASE_URL } : {}),
        },
        n,
      );
      if (!res.ok) {
        io.stderr(`monitor ${m.name}: ${res.error}\n`);
        return 3;
      }
      io.stdout(`${messageToText(res.message)}\n`);
      return 0;
    }
    const store = await deps.services.store();
    const leases = await createLeases(store, { clock });
    const monitorStore = await createMonitorStore(store);
    if (sub === 'list') {
      io.stdout(`${messageToText(await listMonitors(monitors, { store: monitorStore, leases }))}\n`);
      return 0;
    }
    const m = find(monitors, name);
    if (sub === 'pause' || sub === 'resume') {
      const res = await setMonitorPaused(m, sub === 'pause', cliActor(env), {
        store: monitorStore,
        clock,
        audit: createAuditLog(store, { clock }),
        logger,
      });
      io.stdout(`${res.text}\n`);
      return 0;
    }
    const llm = await deps.services.llm();
    const mdeps: MonitorDeps = {
      store: monitorStore,
      maxFieldBytes: env.RECORD_FIELD_MAX_BYTES,
      leases,
      transport: deps.transport ?? textTransport(io.stdout),
      clock,
      owner: `cli-${process.pid}`,
      llm,
      judgeModel: (llm as { judgeModel?: string }).judgeModel ?? 'offline:heuristic',
      logger,
      ...(langfuse ? { langfuse, langfuseBaseUrl: env.LANGFUSE_BASE_URL } : {}),
    };
    let since: Date | undefined;
    if (sub === 'backfill') {
      const raw = values.since;
      since = raw ? new Date(raw) : undefined;
      if (!since || Number.isNaN(since.getTime()))
        throw new ArbiterError('USAGE', '--since needs a date such as 2026-11-01 or 2026-11-01T09:00:00Z.', {
          hint: USAGE,
        });
    }
    // A manual run is its own tick (to the second), so it never collides with a scheduled one.
    const tickTime = new Date(Math.floor(clock.now().getTime() / 1000) * 1000);
    const outcome = await runTick(m, tickTime, mdeps, since ? { since } : {});
    await auditManualTick(
      m,
      outcome,
      cliActor(env),
      { audit: createAuditLog(store, { clock }), logger },
      since ? { since } : {},
    );
    if (outcome.status === 'failed') {
      io.stderr(`monitor ${m.name}: tick failed: ${outcome.error}\n`);
      return 3;
    }
    if (outcome.status === 'skipped') {
      io.stderr(`monitor ${m.name}: ${outcome.reason}\n`);
      return 0;
    }
    io.stdout(
      `monitor ${m.name}: read ${outcome.read}, scored ${outcome.scored}, failing ${outcome.stats.failing}, unmatched ${outcome.unmatched}, already scored ${outcome.alreadyScored}\n`,
    );
    return 0;
  } catch (err) {
    io.stderr(`${formatUserError(err)}\n`);
    if (!isCodedError(err)) logger.error({ err }, 'monitor command failed');
    return isCodedError(err) ? err.exitCode : 3;
  }
}

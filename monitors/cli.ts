// `arbiter monitor list | run <name> [--dry-run] | pause <name> | resume <name> | backfill <name> --since <date>`:
// returns an exit code. The words and flags are read by the command registry (commands/table.ts), never here.
import { cliActor, createAuditLog } from '../audit/index.ts';
import { createTextTransport, messageToText } from '../chat/index.ts';
import type { Transport } from '../chat/index.ts';
import {
  ArbiterError,
  type Clock,
  closestName,
  createSilentLogger,
  type Env,
  formatUserError,
  isCodedError,
  type Logger,
  systemClock,
} from '../config/index.ts';
import { type LangfuseClient, langfuseFromEnv } from '../langfuse/index.ts';
import type { Llm } from '../llm/index.ts';
import { createLeases, type DocumentStore } from '../storage/index.ts';
import { loadMonitors, type Monitor } from './schema.ts';
import {
  auditManualTick,
  DRY_RUN_RECORDS,
  dryRunExtractor,
  listMonitors,
  setMonitorPaused,
} from './service.ts';
import { createMonitorStore } from './store.ts';
import { type MonitorDeps, runTick } from './tick.ts';

/**
 * One `arbiter monitor …` command with its arguments, as the command registry (commands/table.ts) parsed and
 * validated them: this file reads no argv.
 */
export type MonitorCliCommand =
  | { name: 'monitor.list' }
  | { name: 'monitor.run'; monitor: string; dryRun?: boolean | undefined; records?: number | undefined }
  | { name: 'monitor.pause' | 'monitor.resume'; monitor: string }
  | { name: 'monitor.backfill'; monitor: string; since: string };

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

function find(monitors: Monitor[], name: string): Monitor {
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
export async function runMonitorCli(cmd: MonitorCliCommand, deps: MonitorCliDeps): Promise<number> {
  const { env, io } = deps;
  const logger = deps.logger ?? createSilentLogger();
  try {
    const loaded = loadMonitors(env.MONITORS_DIR);
    // Old forms still load, with a warning on stderr naming the file, line and the new form.
    for (const w of loaded.flatMap((l) => l.warnings)) io.stderr(`warning: ${w}\n`);
    const monitors = loaded.map((l) => l.value);
    const clock = deps.clock ?? systemClock;
    const langfuse = deps.langfuse ?? langfuseFromEnv(env, { logger });
    // The store, its leases and the monitor store, opened once a command needs them.
    const storeAndLeases = async () => {
      const store = await deps.services.store();
      const leases = await createLeases(store, { clock });
      return { store, leases, monitorStore: await createMonitorStore(store) };
    };
    if (cmd.name === 'monitor.list') {
      const { leases, monitorStore } = await storeAndLeases();
      io.stdout(`${messageToText(await listMonitors(monitors, { store: monitorStore, leases }))}\n`);
      return 0;
    }
    const m = find(monitors, cmd.monitor);
    // The Slack channel source reads through the bot's Slack client; the command line has none, whatever the env.
    if (m.source.type === 'slack' && (cmd.name === 'monitor.run' || cmd.name === 'monitor.backfill'))
      throw new ArbiterError(
        'USAGE',
        `Monitor "${m.name}" reads a Slack channel, which the arbiter command does not read.`,
        {
          hint: `Run it from Slack (\`/arbiter monitor ${cmd.name === 'monitor.run' ? 'run' : 'backfill'} ${m.name}\`), where the bot reads the channel with its token, or let its schedule run it.`,
        },
      );
    if (cmd.name === 'monitor.run' && cmd.dryRun) {
      const n = cmd.records ?? DRY_RUN_RECORDS;
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
    const { store, leases, monitorStore } = await storeAndLeases();
    if (cmd.name === 'monitor.pause' || cmd.name === 'monitor.resume') {
      const res = await setMonitorPaused(m, cmd.name === 'monitor.pause', cliActor(env), {
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
      transport: deps.transport ?? createTextTransport(io.stdout),
      clock,
      owner: `cli-${process.pid}`,
      llm,
      judgeModel: (llm as { judgeModel?: string }).judgeModel ?? 'offline:heuristic',
      logger,
      ...(langfuse ? { langfuse, langfuseBaseUrl: env.LANGFUSE_BASE_URL } : {}),
    };
    // The registry checked that --since is a date.
    const since = cmd.name === 'monitor.backfill' ? new Date(cmd.since) : undefined;
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

import { cliActor, createAuditLog, recordAudit } from '../audit/index.ts';
import { existsSync } from 'node:fs';
import { ArbiterError, createSilentLogger, type Env } from '../config/index.ts';
import { createSqliteStore, migrateNedbToSqlite, type StoreStats, storeStats } from '../storage/index.ts';
import type { CliIo } from './registry.ts';

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

function days(ms: number): string {
  const d = ms / 86_400_000;
  return Number.isInteger(d) ? `${d} day${d === 1 ? '' : 's'}` : `${(ms / 3_600_000).toFixed(0)} hours`;
}

function formatStats(s: StoreStats): string {
  const lines = [`Store: ${s.store}`];
  if (s.collections.length === 0) lines.push('No collections yet.');
  else {
    const width = Math.max(10, ...s.collections.map((c) => c.name.length));
    lines.push(`${'collection'.padEnd(width)}  documents${s.engine === 'nedb' ? '  file' : ''}`);
    for (const c of s.collections)
      lines.push(
        `${c.name.padEnd(width)}  ${String(c.documents).padStart(9)}${c.bytes === undefined ? '' : `  ${bytes(c.bytes)}`}`,
      );
  }
  if (s.sizes?.databaseBytes !== undefined) lines.push(`Database file: ${bytes(s.sizes.databaseBytes)}`);
  if (s.sizes?.walBytes !== undefined) lines.push(`WAL file: ${bytes(s.sizes.walBytes)}`);
  if (s.sizes) lines.push(`DATA_DIR: ${bytes(s.sizes.dataDirBytes)}`);
  lines.push("Retention (what the next sweep, or MongoDB's TTL monitor, removes):");
  const width = Math.max(10, ...s.retention.map((r) => r.collection.length));
  for (const r of s.retention) {
    const rule = r.maxAgeMs === null ? 'kept' : `${r.dateField} older than ${days(r.maxAgeMs)}`;
    const next =
      r.maxAgeMs === null
        ? ''
        : `: ${r.expired} to remove now${r.nextExpiryAt ? `, next on ${r.nextExpiryAt.toISOString()}` : ''}`;
    lines.push(`  ${r.collection.padEnd(width)}  ${rule}${next} (${r.setting})`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * One `arbiter store …` command with its arguments, as the command registry (commands/table.ts) parsed and
 * validated them: this file reads no argv.
 */
export type StoreCliCommand = { name: 'store.migrate' } | { name: 'store.stats'; json?: boolean | undefined };

/** `arbiter store migrate | stats [--json]`: move a nedb DATA_DIR to SQLite now; what the store holds. */
export async function runStoreCommand(cmd: StoreCliCommand, env: Env, io: CliIo): Promise<number> {
  if (cmd.name === 'store.stats') {
    const { json } = cmd;
    const stats = await storeStats(env, { logger: createSilentLogger() });
    io.stdout(json ? `${JSON.stringify(stats, null, 2)}\n` : formatStats(stats));
    return 0;
  }
  // store.migrate
  if (env.MONGODB_URI)
    throw new ArbiterError(
      'CONFIG_INVALID',
      'MONGODB_URI is set, so Arbiter uses MongoDB; `arbiter store migrate` moves a nedb DATA_DIR into the embedded SQLite store.',
      { hint: 'Unset MONGODB_URI to migrate DATA_DIR for the embedded store.' },
    );
  if (env.EMBEDDED_STORE === 'nedb')
    throw new ArbiterError(
      'CONFIG_INVALID',
      'EMBEDDED_STORE=nedb keeps the nedb store: after a migration it would start empty.',
      { hint: 'Unset EMBEDDED_STORE (SQLite is the default) or set it to sqlite, then migrate.' },
    );
  if (!existsSync(env.DATA_DIR))
    throw new ArbiterError('CONFIG_INVALID', `DATA_DIR ${env.DATA_DIR} does not exist: nothing to migrate.`, {
      hint: 'Set DATA_DIR to the folder holding the nedb files (<collection>.db).',
    });
  const done = await migrateNedbToSqlite({ dir: env.DATA_DIR, logger: createSilentLogger() });
  if (!done) {
    io.stdout(`Nothing to migrate: DATA_DIR ${env.DATA_DIR} holds no nedb files.\n`);
    return 0;
  }
  // Recorded in the store it migrated to, after the migration committed; a failed record is only reported.
  const migrated = await createSqliteStore({ dir: env.DATA_DIR, logger: createSilentLogger() });
  try {
    await recordAudit(
      createAuditLog(migrated),
      {
        actor: cliActor(env),
        action: 'admin.store-migrate',
        object: { type: 'store', id: 'embedded' },
        summary: `Migrated ${done.documents} document(s) in ${done.collections} collection(s) from nedb to SQLite`,
        details: { documents: done.documents, collections: done.collections, backup: done.backup },
      },
      { error: (_obj: unknown, msg?: string) => io.stderr(`warning: ${msg ?? 'audit record failed'}\n`) },
    );
  } finally {
    await migrated.close();
  }
  const skipped = done.skipped.map(
    (s) => `Skipped ${s.lines} unreadable line${s.lines === 1 ? '' : 's'} of ${s.file}.\n`,
  );
  io.stdout(
    `Migrated ${done.documents} document${done.documents === 1 ? '' : 's'} in ${done.collections} collection${
      done.collections === 1 ? '' : 's'
    } from nedb to SQLite; the nedb files are kept in ${done.backup}.\n${skipped.join('')}`,
  );
  return 0;
}

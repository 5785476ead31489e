// One-time move of a nedb DATA_DIR into the SQLite store: every collection file (`<name>.db`) is read as nedb would
// read it, written into SQLite in one transaction with a marker, and then moved aside into a backup folder.
import { createReadStream, existsSync, mkdirSync, readdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type BetterSqlite3 from 'better-sqlite3';
import { ArbiterError, type Logger } from '../config/index.ts';
import { assertCollectionName } from './shared.ts';
import { encodeJson, ident } from './sqlite-sql.ts';

/** The meta key that records a finished migration (so it runs once, whatever the number of processes). */
export const NEDB_MIGRATION_KEY = 'nedb-migration';
/** nedb refuses a file with more than this share of unreadable lines; so does the migration. */
const CORRUPT_THRESHOLD = 0.1;

/** What was read from one nedb file. */
interface NedbFile {
  name: string;
  file: string;
  docs: Map<string, Record<string, unknown>>;
  corrupt: number;
}

function nedbReviver(key: string, value: unknown): unknown {
  if (key === '$$date') return new Date(value as number);
  if (typeof value === 'object' && value !== null && '$$date' in value)
    return (value as { $$date: Date }).$$date;
  return value;
}

/** Reads a nedb data file line by line: later lines replace earlier ones, `$$deleted` removes, index lines skip. */
async function readNedbFile(name: string, file: string): Promise<NedbFile> {
  const docs = new Map<string, Record<string, unknown>>();
  let lines = 0;
  let corrupt = 0;
  let pending: string | undefined;
  const rl = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Number.POSITIVE_INFINITY });
  const take = (line: string) => {
    if (line.length === 0) return;
    lines++;
    let doc: Record<string, unknown>;
    try {
      doc = JSON.parse(line, nedbReviver) as Record<string, unknown>;
    } catch {
      corrupt++;
      return;
    }
    if (doc.$$indexCreated !== undefined || doc.$$indexRemoved !== undefined) return;
    if (typeof doc._id !== 'string') {
      corrupt++;
      return;
    }
    if (doc.$$deleted === true) docs.delete(doc._id);
    else docs.set(doc._id, doc);
  };
  for await (const line of rl) {
    if (pending !== undefined) take(pending);
    pending = line;
  }
  if (pending !== undefined) {
    // The last line may be a write cut off by a crash (never acknowledged): dropped, as the nedb store does.
    try {
      JSON.parse(pending);
      take(pending);
    } catch {
      // Torn tail.
    }
  }
  if (lines > 0 && corrupt / lines > CORRUPT_THRESHOLD) {
    throw new ArbiterError(
      'STORE_UNAVAILABLE',
      `Cannot migrate ${file} to SQLite: ${corrupt} of ${lines} lines are unreadable.`,
      {
        hint: `Repair or restore ${file} from a backup (or move it aside to drop that collection), then start again; or keep EMBEDDED_STORE=nedb.`,
      },
    );
  }
  return { name, file, docs, corrupt };
}

/** nedb collection files in `dir`: `<collection>.db`. */
export function nedbFiles(dir: string): { name: string; file: string }[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.db'))
    .map((f) => ({ name: f.slice(0, -3), file: join(dir, f) }))
    .filter(({ name }) => {
      try {
        assertCollectionName(name);
        return true;
      } catch {
        return false;
      }
    });
}

/**
 * Migrates the nedb files of `dir` into `db` once. Safe when several processes start at once (the import and its
 * marker commit together, under the write lock) and after a crash at any point (before the commit nothing is
 * imported; after it, the files are moved aside on the next start). Returns the counts, or undefined when there was
 * nothing to do.
 */
export async function migrateNedbDir(
  dir: string,
  db: BetterSqlite3.Database,
  logger: Logger,
  metaTable: string,
): Promise<
  | { collections: number; documents: number; backup: string; skipped: { file: string; lines: number }[] }
  | undefined
> {
  const found = nedbFiles(dir);
  if (found.length === 0) return undefined;
  const marker = () =>
    db
      .prepare(`SELECT value FROM ${ident(metaTable)} WHERE key = ?`)
      .pluck()
      .get(NEDB_MIGRATION_KEY) as string | undefined;
  let result: { collections: number; documents: number } | undefined;
  const skipped: { file: string; lines: number }[] = [];
  if (!marker()) {
    const files: NedbFile[] = [];
    for (const { name, file } of found) files.push(await readNedbFile(name, file));
    result = db
      .transaction(() => {
        if (marker()) return undefined; // Another process migrated while this one was reading.
        let documents = 0;
        for (const f of files) {
          db.exec(
            `CREATE TABLE IF NOT EXISTS ${ident(f.name)} (id TEXT PRIMARY KEY NOT NULL, doc TEXT NOT NULL)`,
          );
          const insert = db.prepare(`INSERT INTO ${ident(f.name)} (id, doc) VALUES (?, json(?))`);
          for (const [id, doc] of f.docs) {
            insert.run(id, encodeJson(doc));
            documents++;
          }
        }
        const summary = { at: new Date().toISOString(), collections: files.length, documents };
        db.prepare(`INSERT INTO ${ident(metaTable)} (key, value) VALUES (?, ?)`).run(
          NEDB_MIGRATION_KEY,
          JSON.stringify(summary),
        );
        return { collections: files.length, documents };
      })
      .immediate();
    for (const f of files) {
      if (f.corrupt > 0 && result) skipped.push({ file: f.file, lines: f.corrupt });
      if (f.corrupt > 0)
        logger.warn(
          { file: f.file, lines: f.corrupt },
          'skipped unreadable lines while migrating a nedb file to SQLite (the file is kept in the backup folder)',
        );
    }
  }
  // Moved aside only once the import is committed: the originals stay as the backup, never read again.
  const backup = join(dir, 'nedb-backup');
  mkdirSync(backup, { recursive: true });
  for (const { file, name } of found) {
    const target = join(backup, `${name}.db`);
    if (existsSync(target)) {
      // A nedb file that appeared after the migration: never imported twice, never written over the backup.
      logger.warn({ file }, 'ignoring a nedb file in a DATA_DIR already migrated to SQLite');
      continue;
    }
    try {
      renameSync(file, target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  if (result) {
    logger.info(
      { ...result, backup },
      'migrated the nedb store to SQLite; the nedb files are kept in the backup folder',
    );
    return { ...result, backup, skipped };
  }
  return undefined;
}

// What the store holds, for `arbiter store stats`: documents per collection, for the embedded engines the sizes on
// disk, and per retention rule what the next sweep (or MongoDB's TTL monitor) removes.
import { existsSync, lstatSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ArbiterError, type Env, type Logger } from '../config/index.ts';
import { nedbFiles } from './nedb-migrate.ts';
import { DEFAULT_EMBEDDED_ENGINE, openStore } from './open.ts';
import { type RetentionEnv, type RetentionPreview, retentionPreview, retentionRules } from './retention.ts';
import { SQLITE_FILE } from './sqlite.ts';

/** One collection in the stats. */
export interface CollectionStats {
  name: string;
  documents: number;
  /** Its file's size (nedb only: SQLite keeps every collection in one file). */
  bytes?: number;
}

/** What `storeStats` reports. */
export interface StoreStats {
  engine: 'sqlite' | 'nedb' | 'mongodb';
  /** The store's own description (never credentials). */
  store: string;
  collections: CollectionStats[];
  /** Sizes on disk, in bytes (embedded engines; the WAL file is SQLite's). */
  sizes?: { databaseBytes?: number; walBytes?: number; dataDirBytes: number };
  /** Per retention rule: its age and what it removes next. */
  retention: RetentionPreview[];
}

function fileSize(file: string): number {
  return statSync(file, { throwIfNoEntry: false })?.size ?? 0;
}

/** Bytes of every file under `dir` (symbolic links not followed). */
function dirSize(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += dirSize(path);
    else if (entry.isFile()) total += lstatSync(path, { throwIfNoEntry: false })?.size ?? 0;
  }
  return total;
}

/**
 * Opens the configured store, counts the documents of each collection and measures the files. It never migrates:
 * a nedb DATA_DIR not yet migrated to SQLite is refused with the command that does it.
 */
export async function storeStats(
  env: Pick<Env, 'MONGODB_URI' | 'MONGODB_DB' | 'MONGODB_CONNECT_TIMEOUT' | 'DATA_DIR'> &
    Partial<Pick<Env, 'EMBEDDED_STORE'>> &
    RetentionEnv,
  deps: { logger: Logger; now?: Date },
): Promise<StoreStats> {
  const engine = env.MONGODB_URI ? 'mongodb' : (env.EMBEDDED_STORE ?? DEFAULT_EMBEDDED_ENGINE);
  const dir = resolve(env.DATA_DIR);
  if (engine !== 'mongodb') {
    if (!existsSync(dir))
      throw new ArbiterError(
        'CONFIG_INVALID',
        `DATA_DIR ${env.DATA_DIR} does not exist: there is no store.`,
        {
          hint: 'Set DATA_DIR to the folder Arbiter stores its data in (the bot creates it on first start).',
        },
      );
    if (engine === 'sqlite' && !existsSync(join(dir, SQLITE_FILE)) && nedbFiles(dir).length > 0)
      throw new ArbiterError(
        'CONFIG_INVALID',
        `DATA_DIR ${env.DATA_DIR} holds a nedb store not yet migrated to SQLite.`,
        {
          hint: 'Run `arbiter store migrate` (the next start would do it too), or set EMBEDDED_STORE=nedb to see it as it is.',
        },
      );
  }
  const store = await openStore(env, deps);
  try {
    const names = await store.collectionNames();
    const retention = await retentionPreview(
      store,
      retentionRules(env),
      deps.now ?? new Date(),
      new Set(names),
    );
    const collections: CollectionStats[] = [];
    for (const name of names) {
      const documents = await (await store.collection(name)).count({});
      collections.push({
        name,
        documents,
        ...(engine === 'nedb' ? { bytes: fileSize(join(dir, `${name}.db`)) } : {}),
      });
    }
    // Measured while the store is open: closing the last connection folds the WAL back into the database.
    const sizes =
      engine === 'sqlite'
        ? {
            databaseBytes: fileSize(join(dir, SQLITE_FILE)),
            walBytes: fileSize(join(dir, `${SQLITE_FILE}-wal`)),
            dataDirBytes: dirSize(dir),
          }
        : engine === 'nedb'
          ? { dataDirBytes: dirSize(dir) }
          : undefined;
    return { engine, store: store.description, collections, ...(sizes ? { sizes } : {}), retention };
  } finally {
    await store.close();
  }
}

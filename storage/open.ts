import type { Env, Ids, Logger } from '../config/index.ts';
import { createNedbStore, type EmbeddedStoreOptions } from './embedded.ts';
import type { DocumentStore } from './port.ts';
import { createSqliteStore } from './sqlite.ts';

/** Engines of the embedded store. */
export type EmbeddedEngine = 'sqlite' | 'nedb';

/** The engine an embedded store uses when none is named (EMBEDDED_STORE's default). */
export const DEFAULT_EMBEDDED_ENGINE: EmbeddedEngine = 'sqlite';

/** Options of the embedded store: its engine, and that engine's options (autocompactMs is nedb's). */
export interface OpenEmbeddedOptions extends EmbeddedStoreOptions {
  engine?: EmbeddedEngine;
}

/** Opens the embedded store under `dir` with the named engine (SQLite or nedb). */
export function createEmbeddedStore(options: OpenEmbeddedOptions): Promise<DocumentStore> {
  const { engine = DEFAULT_EMBEDDED_ENGINE, autocompactMs, ...rest } = options;
  if (engine === 'nedb')
    return createNedbStore({ ...rest, ...(autocompactMs === undefined ? {} : { autocompactMs }) });
  return createSqliteStore(rest);
}

/** Opens MongoDB when MONGODB_URI is set, else the embedded store under DATA_DIR. */
export async function openStore(
  env: Pick<Env, 'MONGODB_URI' | 'MONGODB_DB' | 'MONGODB_CONNECT_TIMEOUT' | 'DATA_DIR'> &
    Partial<Pick<Env, 'EMBEDDED_STORE'>>,
  deps: { logger: Logger; ids?: Ids },
): Promise<DocumentStore> {
  if (env.MONGODB_URI) {
    // Loaded on demand: the driver costs a noticeable part of start-up for those who do not use it.
    const { createMongoStore } = await import('./mongo.ts');
    return createMongoStore({
      uri: env.MONGODB_URI,
      dbName: env.MONGODB_DB,
      connectTimeoutMs: env.MONGODB_CONNECT_TIMEOUT,
      logger: deps.logger,
      ...(deps.ids ? { ids: deps.ids } : {}),
    });
  }
  return createEmbeddedStore({
    dir: env.DATA_DIR,
    logger: deps.logger,
    ...(env.EMBEDDED_STORE ? { engine: env.EMBEDDED_STORE } : {}),
    ...(deps.ids ? { ids: deps.ids } : {}),
  });
}

import type { Env, Ids, Logger } from '../config/index.ts';
import { createEmbeddedStore } from './embedded.ts';
import type { DocumentStore } from './port.ts';

/** Opens MongoDB when MONGODB_URI is set, else the embedded store under DATA_DIR. */
export async function openStore(
  env: Pick<Env, 'MONGODB_URI' | 'MONGODB_DB' | 'MONGODB_CONNECT_TIMEOUT_MS' | 'DATA_DIR'>,
  deps: { logger: Logger; ids?: Ids },
): Promise<DocumentStore> {
  if (env.MONGODB_URI) {
    // Loaded on demand: the driver costs a noticeable part of start-up for those who do not use it.
    const { createMongoStore } = await import('./mongo.ts');
    return createMongoStore({
      uri: env.MONGODB_URI,
      dbName: env.MONGODB_DB,
      connectTimeoutMs: env.MONGODB_CONNECT_TIMEOUT_MS,
      logger: deps.logger,
      ...(deps.ids ? { ids: deps.ids } : {}),
    });
  }
  return createEmbeddedStore({
    dir: env.DATA_DIR,
    logger: deps.logger,
    ...(deps.ids ? { ids: deps.ids } : {}),
  });
}

import { describe, expect, it } from 'vitest';
import { runStoreContract } from '../test/contract/store-contract.ts';
import { tempDir } from '../test/helpers/tmp.ts';
import type { DocumentStore } from './index.ts';
import { createNedbStore } from './embedded.ts';
import { createMongoStore } from './mongo.ts';
import { createSqliteStore } from './sqlite.ts';

const dirs = new Map<DocumentStore, () => void>();

runStoreContract('nedb', {
  async create() {
    const { dir, cleanup } = tempDir();
    const store = await createNedbStore({ dir, autocompactMs: 0 });
    dirs.set(store, cleanup);
    return store;
  },
  async dispose(store) {
    await store.close();
    dirs.get(store)?.();
  },
});

runStoreContract('sqlite', {
  async create() {
    const { dir, cleanup } = tempDir();
    const store = await createSqliteStore({ dir });
    dirs.set(store, cleanup);
    return store;
  },
  async dispose(store) {
    await store.close();
    dirs.get(store)?.();
  },
});

const mongoUri = process.env.MONGODB_URI;
if (mongoUri) {
  runStoreContract('mongodb', {
    create: () => createMongoStore({ uri: mongoUri, dbName: `arbiter_contract_${process.pid}` }),
    async dispose(store) {
      await store.close();
    },
  });
} else {
  describe('DocumentStore contract: mongodb', () => {
    it.skip('runs when MONGODB_URI is set (no MongoDB server on this machine)', () => {
      expect(mongoUri).toBeDefined();
    });
  });
}

// Audit trail: 50,000 records (1,000 runs, 200 users, a year of history) in each embedded engine; the report pages'
// query (one object's history), `arbiter audit --user`, `--since` and the newest page, as medians over 50 queries.
// "without indexes" is the same filter, order and limit on a copy of the records in a collection with no indexes.
import { createAuditLog } from '../../audit/index.ts';
import { createManualClock } from '../../config/runtime.ts';
import { createSqliteStore, type DocumentStore } from '../../storage/index.ts';
import { createNedbStore } from '../../storage/embedded.ts';
import { tempDir } from '../helpers/tmp.ts';
import { isMain, median, report } from './util.ts';

const RECORDS = 50_000;
const QUERIES = 50;

async function timeQueries(fn: (i: number) => Promise<unknown>): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i < QUERIES; i++) {
    const t = performance.now();
    await fn(i);
    ms.push(performance.now() - t);
  }
  return median(ms);
}

async function fill(store: DocumentStore): Promise<{ insertPerS: number }> {
  const clock = createManualClock('2025-12-01T00:00:00Z');
  const audit = createAuditLog(store, { clock });
  const t = performance.now();
  for (let i = 0; i < RECORDS; i++) {
    clock.advance(630_000);
    await audit.record({
      actor: { via: 'slack', user: `U${i % 200}`, channel: 'C1' },
      action: i % 3 === 0 ? 'run.launch' : 'review.vote',
      object: { type: i % 3 === 0 ? 'run' : 'review', id: `obj_${i % 1000}` },
      summary: `Action ${i}`,
    });
  }
  return { insertPerS: RECORDS / ((performance.now() - t) / 1000) };
}

async function engine(name: string, open: (dir: string) => Promise<DocumentStore>) {
  const { dir, cleanup } = tempDir('arbiter-bench-audit-');
  const store = await open(dir);
  try {
    const { insertPerS } = await fill(store);
    const audit = createAuditLog(store);
    // The same documents in a collection without indexes: what the list queries would cost without them.
    const plain = await store.collection<{ _id: string }>('audit_plain');
    const all = await (await store.collection<{ _id: string }>('audit_log')).find({});
    for (let i = 0; i < all.length; i += 1000) await plain.insertMany(all.slice(i, i + 1000));
    const since = new Date('2026-11-24T00:00:00Z');
    const byObject = await timeQueries((i) =>
      audit.list({ objectType: 'review', objectId: `obj_${(i * 7) % 1000}` }),
    );
    const byObjectPlain = await timeQueries((i) =>
      plain.find(
        { objectType: 'review', objectId: `obj_${(i * 7) % 1000}` },
        { sort: { at: -1 }, limit: 100 },
      ),
    );
    const byUser = await timeQueries((i) => audit.list({ user: `U${i % 200}` }));
    const byUserPlain = await timeQueries((i) =>
      plain.find({ user: `U${i % 200}` }, { sort: { at: -1 }, limit: 100 }),
    );
    const recent = await timeQueries(() => audit.list({ since }));
    const newest = await timeQueries(() => audit.list({}));
    return {
      [`${name}: record/s (one at a time)`]: insertPerS,
      [`${name}: one object's history, median ms`]: byObject,
      [`${name}:   one object's history without indexes, median ms`]: byObjectPlain,
      [`${name}: --user U, median ms`]: byUser,
      [`${name}:   --user U without indexes, median ms`]: byUserPlain,
      [`${name}: --since 7d, median ms`]: recent,
      [`${name}: newest 100, median ms`]: newest,
    };
  } finally {
    await store.close();
    cleanup();
  }
}

/** Runs the audit benchmark and returns its figures. */
export async function run(): Promise<Record<string, number | string>> {
  const sqlite = await engine('sqlite', (dir) => createSqliteStore({ dir }));
  const nedb = await engine('nedb', (dir) => createNedbStore({ dir, autocompactMs: 0 }));
  return report(`audit: list queries over ${RECORDS.toLocaleString('en')} records`, { ...sqlite, ...nedb });
}

if (isMain(import.meta.url)) await run();

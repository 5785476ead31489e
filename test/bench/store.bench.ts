// Embedded store: insert 100,000 small documents, then 10,000 lookups by a unique key.
import { createEmbeddedStore } from '../../storage/open.ts';
import { tempDir } from '../helpers/tmp.ts';
import { isMain, peakRssMiB, report } from './util.ts';

interface Small {
  _id: string;
  key: string;
  n: number;
  tag: string;
}

/** Runs the store benchmark and returns its figures. */
export async function run(): Promise<Record<string, number | string>> {
  const { dir, cleanup } = tempDir('arbiter-bench-');
  const store = await createEmbeddedStore({ dir, autocompactMs: 0 });
  try {
    const docs = await store.collection<Small>('bench', [{ fields: { key: 1 }, unique: true }]);
    const total = 100_000;
    const make = (n: number): Small => ({
      _id: `d${n}`,
      key: `k-${n.toString(36)}`,
      n,
      tag: n % 2 ? 'odd' : 'even',
    });

    // One insertOne per document: each is appended to the data file before it resolves.
    const single = 20_000;
    let t = performance.now();
    for (let n = 0; n < single; n++) await docs.insertOne(make(n));
    const singleS = (performance.now() - t) / 1000;

    // The rest in batches of 1,000 (insertMany appends a batch in one write).
    t = performance.now();
    for (let n = single; n < total; n += 1000)
      await docs.insertMany(Array.from({ length: 1000 }, (_, i) => make(n + i)));
    const batchS = (performance.now() - t) / 1000;

    const lookups = 10_000;
    t = performance.now();
    let found = 0;
    for (let i = 0; i < lookups; i++) {
      const n = (i * 7919) % total;
      if ((await docs.findOne({ key: `k-${n.toString(36)}` }))?.n === n) found += 1;
    }
    const lookupS = (performance.now() - t) / 1000;

    await store.close();
    t = performance.now();
    const reopened = await createEmbeddedStore({ dir, autocompactMs: 0 });
    const again = await reopened.collection<Small>('bench', [{ fields: { key: 1 }, unique: true }]);
    const count = await again.count({});
    const reopenS = (performance.now() - t) / 1000;
    await reopened.close();

    return report('embedded store: 100,000 inserts, 10,000 unique-key lookups', {
      'insertOne docs/s (first 20,000, one write each)': single / singleS,
      'insertMany docs/s (80,000 in batches of 1,000)': (total - single) / batchS,
      'overall insert docs/s (100,000)': total / (singleS + batchS),
      'unique-key lookups/s (10,000)': lookups / lookupS,
      'lookups that found the right document': `${found}/${lookups}`,
      'reopen 100,000 docs from disk (s)': reopenS,
      'documents after reopen': count,
      'peak RSS (MiB)': peakRssMiB(),
    });
  } finally {
    cleanup();
  }
}

if (isMain(import.meta.url)) await run();

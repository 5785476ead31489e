// A child process for the store fault tests: opens the SQLite store in DATA_DIR (argv[2]) and inserts 4 KB documents
// one by one, printing each acknowledged _id, until a write fails (printed as the error the user would see) or
// argv[3] documents are in. Run with a file-size limit (disk full) or as a user who cannot write (read-only).
import { createSqliteStore } from '../../storage/sqlite.ts';

const [dir, max = '100000', from = '0'] = process.argv.slice(2);
const out = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);
try {
  const store = await createSqliteStore({ dir: dir ?? '.', busyTimeoutMs: 2000 });
  const docs = await store.collection<{ _id: string; body: string }>('docs');
  for (let i = Number(from); i < Number(max); i++) {
    await docs.insertOne({ _id: `d${i}`, body: 'x'.repeat(4096) });
    out({ acked: `d${i}` });
  }
  out({ count: await docs.count({}) });
  await store.close();
} catch (err) {
  const e = err as { code?: string; message: string; hint?: string };
  out({ error: { code: e.code, message: e.message, hint: e.hint } });
}

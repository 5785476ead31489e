// Faults of the disk under DATA_DIR, on real processes and files: a file-size limit (the disk is full for this
// process), a DATA_DIR the process cannot write, and a database corrupted in the middle. Each fails with a clear
// error naming DATA_DIR (or the file) and loses nothing acknowledged. (storage/sqlite.test.ts also fills a real tmpfs
// and remounts it read-only when the machine allows mounting.)
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, closeSync, openSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isArbiterError } from '../config/index.ts';
import { tempDir } from '../test/helpers/tmp.ts';
import { createSqliteStore, SQLITE_FILE } from './sqlite.ts';

const root = join(import.meta.dirname, '..');
const writer = join(root, 'test/helpers/store-fault-writer.ts');
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

type Line = { acked?: string; count?: number; error?: { code: string; message: string; hint?: string } };

/** Runs the writer child (optionally under a wrapper command such as prlimit or setpriv) and parses its lines. */
function write(dir: string, args: string[], wrapper: string[] = []): Line[] {
  const cmd = [...wrapper, process.execPath, '--import', 'tsx', writer, dir, ...args];
  const res = spawnSync(cmd[0]!, cmd.slice(1), { cwd: root, encoding: 'utf8', timeout: 60_000 });
  return res.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Line);
}

const hasPrlimit = (() => {
  try {
    execFileSync('prlimit', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe('store faults', () => {
  it.skipIf(!hasPrlimit)(
    'a full disk (a file-size limit) fails the write naming DATA_DIR; every acknowledged write is there after',
    () => {
      const { dir, cleanup } = tempDir();
      cleanups.push(cleanup);
      const lines = write(dir, ['100000'], ['prlimit', '--fsize=400000']);
      const acked = lines.flatMap((l) => (l.acked ? [l.acked] : []));
      const error = lines.at(-1)?.error;
      expect(acked.length).toBeGreaterThan(5);
      expect(error?.code).toBe('STORE_UNAVAILABLE');
      expect(error?.message).toContain(`Cannot write to DATA_DIR ${dir}`);
      expect(error?.message).toMatch(/The write was not saved/);
      expect(error?.hint).toMatch(/full disk|file-size limit/);
      // A later process without the limit finds exactly what was acknowledged, and can write again.
      const after = write(dir, [String(acked.length + 1), String(acked.length)]);
      expect(after.at(-1)).toEqual({ count: acked.length + 1 });
    },
    90_000,
  );

  it('a DATA_DIR this process cannot write is refused at start naming DATA_DIR; the data in it stays', () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(() => {
      chmodSync(dir, 0o755);
      cleanup();
    });
    expect(write(dir, ['3']).at(-1)).toEqual({ count: 3 });
    // Root ignores permissions: run the second process as nobody; any other user just loses write permission.
    const asRoot = process.getuid?.() === 0;
    chmodSync(dir, 0o555);
    chmodSync(join(dir, SQLITE_FILE), 0o444);
    const wrapper = asRoot ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] : [];
    const lines = write(dir, ['5', '3'], wrapper);
    const error = lines.at(-1)?.error;
    expect(lines.filter((l) => l.acked)).toEqual([]);
    expect(error?.code).toBe('STORE_UNAVAILABLE');
    expect(error?.message).toContain(`Cannot write to DATA_DIR ${dir}`);
    expect(error?.message).toMatch(/readonly|read-only|unable to open/i);
    expect(error?.hint).toMatch(/writable/);
    chmodSync(dir, 0o755);
    chmodSync(join(dir, SQLITE_FILE), 0o644);
    expect(write(dir, ['3', '3']).at(-1)).toEqual({ count: 3 });
  }, 90_000);

  it('a database corrupted in the middle is reported on the query that meets it, with the file and how to recover', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    let store = await createSqliteStore({ dir });
    const docs = await store.collection<{ _id: string; body: string }>('docs');
    await docs.insertMany(Array.from({ length: 500 }, (_, i) => ({ _id: `d${i}`, body: 'y'.repeat(2000) })));
    await store.close();
    // Overwrites pages in the middle of the file (the header and schema on page 1 stay intact, so it opens).
    const file = join(dir, SQLITE_FILE);
    const size = statSync(file).size;
    const fd = openSync(file, 'r+');
    writeSync(fd, Buffer.alloc(64 * 1024, 0xa5), 0, 64 * 1024, Math.floor(size / 2));
    closeSync(fd);
    store = await createSqliteStore({ dir });
    const err = await (await store.collection<{ _id: string }>('docs')).find({}, { sort: { _id: 1 } }).then(
      () => undefined,
      (e: unknown) => e,
    );
    await store.close();
    expect(isArbiterError(err, 'STORE_UNAVAILABLE')).toBe(true);
    expect((err as Error).message).toContain(`The SQLite database ${file} is corrupt`);
    const hint = (err as { hint: string }).hint;
    expect(hint).toMatch(/restore .* from a backup/);
    expect(hint).toContain('.recover');
    expect(hint).toMatch(/move .* aside/);
  });
});

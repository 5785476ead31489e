// The store checkpoint saver: what LangGraph puts comes back the same (plain JSON and values only the serde can
// write), a replayed put upserts, and puts from many threads at once (batched into shared writes) all land.
import { emptyCheckpoint, type Checkpoint } from '@langchain/langgraph';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CHECKPOINTS_COLLECTION,
  CHECKPOINT_WRITES_COLLECTION,
  createStoreCheckpointer,
} from '../runs/checkpointer.ts';
import type { DocumentStore } from '../storage/index.ts';
import { createEmbeddedStore } from '../storage/open.ts';
import { tempDir } from './helpers/tmp.ts';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function open(): Promise<DocumentStore> {
  const { dir, cleanup } = tempDir();
  const store = await createEmbeddedStore({ dir, autocompactMs: 0 });
  cleanups.push(cleanup, () => store.close());
  return store;
}

function checkpoint(id: string, values: Record<string, unknown>): Checkpoint {
  return { ...emptyCheckpoint(), id, channel_values: values, channel_versions: { a: 1 } };
}

const config = (thread: string, id?: string) => ({
  configurable: { thread_id: thread, checkpoint_ns: '', ...(id ? { checkpoint_id: id } : {}) },
});

describe('StoreCheckpointSaver', () => {
  it('stores plain state as readable JSON and reads back what the serde alone can hold', async () => {
    const store = await open();
    const saver = await createStoreCheckpointer(store);
    const plain = {
      item: { key: 'k', input: 'a "quoted" ☃ question' },
      turn: 2,
      scores: [{ v: 0.5, n: null }],
    };
    const plainCheckpoint = checkpoint('0001', plain);
    await saver.put(config('run_a::k'), plainCheckpoint, { source: 'loop', step: 1, parents: {} });
    const special = {
      tags: new Set(['x', 'y']),
      byKey: new Map([['k', 1]]),
      missing: undefined,
      bytes: new Uint8Array([1, 2, 3]),
    };
    await saver.put(config('run_a::s'), checkpoint('0002', special), {
      source: 'loop',
      step: 1,
      parents: {},
    });

    const docs = await (
      await store.collection<{ _id: string; threadId: string; checkpoint: string }>(CHECKPOINTS_COLLECTION)
    ).find({});
    const plainDoc = docs.find((d) => d.threadId === 'run_a::k')!;
    // Plain data is the serde's `json` format as is, readable in the store.
    expect(JSON.parse(plainDoc.checkpoint).channel_values).toEqual(plain);
    expect(plainDoc.checkpoint).toBe(
      Buffer.from((await saver.serde.dumpsTyped(plainCheckpoint))[1]).toString('utf8'),
    );

    expect((await saver.getTuple(config('run_a::k')))?.checkpoint.channel_values).toEqual(plain);
    const back = (await saver.getTuple(config('run_a::s')))?.checkpoint.channel_values as typeof special;
    expect(back.tags).toEqual(new Set(['x', 'y']));
    expect(back.byKey).toEqual(new Map([['k', 1]]));
    expect('missing' in back && back.missing === undefined).toBe(true);
    expect(Array.from(back.bytes)).toEqual([1, 2, 3]);
  });

  it('a replayed put of the same checkpoint id upserts; pending writes are kept once', async () => {
    const store = await open();
    const saver = await createStoreCheckpointer(store);
    await saver.put(config('run_b::k'), checkpoint('0001', { v: 1 }), {
      source: 'loop',
      step: 0,
      parents: {},
    });
    await saver.put(config('run_b::k'), checkpoint('0001', { v: 2 }), {
      source: 'loop',
      step: 0,
      parents: {},
    });
    expect(await (await store.collection(CHECKPOINTS_COLLECTION)).count({ threadId: 'run_b::k' })).toBe(1);
    expect((await saver.getTuple(config('run_b::k')))?.checkpoint.channel_values).toEqual({ v: 2 });

    await saver.putWrites(
      config('run_b::k', '0001'),
      [
        ['out', 'first'],
        ['n', undefined],
      ],
      'task1',
    );
    await saver.putWrites(config('run_b::k', '0001'), [['out', 'replayed']], 'task1');
    const tuple = await saver.getTuple(config('run_b::k'));
    expect(tuple?.pendingWrites).toEqual([
      ['task1', 'out', 'first'],
      ['task1', 'n', undefined],
    ]);
    expect(await (await store.collection(CHECKPOINT_WRITES_COLLECTION)).count({ threadId: 'run_b::k' })).toBe(
      2,
    );
  });

  it('puts and writes from many threads at once all land, each with its own thread', async () => {
    const store = await open();
    const saver = await createStoreCheckpointer(store);
    const threads = Array.from({ length: 50 }, (_, i) => `run_c::${i}`);
    await Promise.all(
      threads.map(async (t, i) => {
        await saver.put(config(t), checkpoint(`id${i}`, { i }), { source: 'loop', step: 0, parents: {} });
        await saver.putWrites(config(t, `id${i}`), [['i', i]], `task${i}`);
      }),
    );
    for (const [i, t] of threads.entries()) {
      const tuple = await saver.getTuple(config(t));
      expect(tuple?.checkpoint.channel_values).toEqual({ i });
      expect(tuple?.pendingWrites).toEqual([[`task${i}`, 'i', i]]);
    }
    expect(await saver.threadsWithCheckpoints('run_c')).toEqual(new Set(threads));
  });
});

// Fault injection around the real store for crash tests: a store whose collection `name` has some methods replaced
// (each replacement gets the real collection to call through), everything else untouched.
import type { Collection, Doc, DocumentStore } from '../../storage/index.ts';

/** The real store, with `override(col)` replacing methods of collection `name`. */
export function withCollectionOverride(
  store: DocumentStore,
  name: string,
  override: (col: Collection<Doc>) => Partial<Collection<Doc>>,
): DocumentStore {
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop !== 'collection') {
        const v = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? v.bind(target) : v;
      }
      return async (n: string, indexes?: Parameters<DocumentStore['collection']>[1]) => {
        const col = await target.collection(n, indexes);
        if (n !== name) return col;
        const replaced = override(col as Collection<Doc>);
        return new Proxy(col, {
          get(c, p, r) {
            if (p in replaced) return replaced[p as keyof typeof replaced];
            const v = Reflect.get(c, p, r);
            return typeof v === 'function' ? v.bind(c) : v;
          },
        });
      };
    },
  });
}

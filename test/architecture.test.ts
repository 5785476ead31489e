// Keeps ARCHITECTURE.md true: every import of every source file follows the layers it draws. A folder imports only
// folders of a lower layer, always through their index.ts, and nothing imports the two front doors.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/** The layers of ARCHITECTURE.md, bottom first. */
const LAYERS: Record<string, number> = {
  config: 0,
  chat: 1,
  storage: 1,
  langfuse: 2,
  audit: 2,
  llm: 3,
  evaluators: 4,
  runs: 5,
  reviews: 5,
  monitors: 5,
  digests: 5,
  prompts: 5,
  commands: 6,
  web: 6,
  app: 7,
  bot: 8,
  cli: 8,
};

interface Import {
  file: string;
  spec: string;
  from: string;
  to: string;
  toFile: string;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') && !path.endsWith('.test.ts') ? [path] : [];
  });
}

/** Every relative import (static, re-export or dynamic) of the layered folders' source files. */
function crossFolderImports(): Import[] {
  const out: Import[] = [];
  for (const folder of Object.keys(LAYERS)) {
    for (const file of sourceFiles(folder)) {
      const text = readFileSync(file, 'utf8');
      const specs = [
        ...text.matchAll(/\b(?:import|export)\s[^;'"]*?from\s*['"](\.{1,2}\/[^'"]+)['"]/g),
        ...text.matchAll(/\bimport\s*\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g),
        ...text.matchAll(/^\s*import\s*['"](\.{1,2}\/[^'"]+)['"]/gm),
      ].map((m) => m[1] ?? '');
      for (const spec of specs) {
        const target = relative('.', normalize(join(dirname(file), spec)));
        const [to = '', ...rest] = target.split('/');
        if (to === folder) continue;
        out.push({ file, spec, from: folder, to, toFile: rest.join('/') });
      }
    }
  }
  return out;
}

/** Names in a `{ a, type B, c as d }` list: the exported (or imported) name of each. */
function listNames(list: string, side: 'outer' | 'inner'): string[] {
  return list
    .split(',')
    .map((part) => part.trim().replace(/^type\s+/, ''))
    .filter(Boolean)
    .map((part) => {
      const [inner = '', outer] = part.split(/\s+as\s+/);
      return (side === 'outer' ? (outer ?? inner) : inner).trim();
    });
}

/** What each folder's index.ts exports, and what the other folders' sources take from it. */
function surfaces(): { folder: string; exported: string[]; used: Set<string> }[] {
  return Object.keys(LAYERS).flatMap((folder) => {
    let text: string;
    try {
      text = readFileSync(join(folder, 'index.ts'), 'utf8');
    } catch {
      return [];
    }
    const exported = [...text.matchAll(/export\s+(?:type\s+)?\{([^}]*)\}/g)].flatMap((m) =>
      listNames(m[1] ?? '', 'outer'),
    );
    const used = new Set<string>();
    const index = new RegExp(`['"](?:\\.\\./)+${folder}/index\\.ts['"]`);
    for (const other of Object.keys(LAYERS)) {
      if (other === folder) continue;
      for (const file of sourceFiles(other)) {
        const source = readFileSync(file, 'utf8');
        const lists = [
          ...source.matchAll(/(?:import|export)\s+(?:type\s+)?\{([^{}]*)\}\s*from\s*(['"][^'"]+['"])/g),
          ...source.matchAll(/\{([^{}]*)\}\s*=\s*await\s+import\(\s*(['"][^'"]+['"])\s*\)/g),
        ];
        for (const m of lists)
          if (index.test(m[2] ?? '')) for (const n of listNames(m[1] ?? '', 'inner')) used.add(n);
      }
    }
    return [{ folder, exported, used }];
  });
}

describe('the module map (ARCHITECTURE.md)', () => {
  const imports = crossFolderImports();

  it('reads the imports it checks', () => {
    // A broken pattern would make every rule below pass on nothing.
    expect(imports.length).toBeGreaterThan(100);
    expect(imports.some((i) => i.from === 'runs' && i.to === 'evaluators')).toBe(true);
  });

  it('every import goes to a lower layer, and nothing imports bot/ or cli/', () => {
    const upward = imports
      .filter((i) => !(i.to in LAYERS) || (LAYERS[i.to] ?? 99) >= (LAYERS[i.from] ?? -1))
      .map(
        (i) =>
          `${i.file} imports ${i.spec} (${i.from}/ is layer ${LAYERS[i.from]}, ${i.to}/ is layer ${LAYERS[i.to] ?? '?'})`,
      );
    expect(upward).toEqual([]);
  });

  it("each folder's index.ts exports only what another folder's sources import", () => {
    const all = surfaces();
    // A broken pattern would find nothing exported or nothing used, and pass on nothing.
    expect(all.length).toBeGreaterThan(10);
    expect(all.find((s) => s.folder === 'llm')?.used.has('createLlm')).toBe(true);
    const extra = all.flatMap((s) =>
      s.exported
        .filter((name) => !s.used.has(name))
        .map((name) => `${s.folder}/index.ts exports ${name}, which no other folder's source imports`),
    );
    // Tests and benchmarks import such names from the file that defines them.
    expect(extra).toEqual([]);
    const star = all.filter((s) => /export\s+\*/.test(readFileSync(join(s.folder, 'index.ts'), 'utf8')));
    expect(star.map((s) => s.folder)).toEqual([]);
  });

  it('another folder is imported through its index.ts, never a file inside it', () => {
    const deep = imports.filter((i) => i.toFile !== 'index.ts').map((i) => `${i.file} imports ${i.spec}`);
    expect(deep).toEqual([]);
  });

  it('ARCHITECTURE.md names every layered folder and the test that keeps it true', () => {
    const doc = readFileSync('ARCHITECTURE.md', 'utf8');
    for (const folder of Object.keys(LAYERS)) expect(doc).toContain(`\`${folder}/\``);
    expect(doc).toContain('test/architecture.test.ts');
  });

  it('only the composition roots of app/ open the store or build the model client', () => {
    // storage/ defines openStore (and `store stats` opens it); llm/ defines createLlm.
    const allowed = new Set(['app/core.ts', 'app/cli.ts']);
    const opening = Object.keys(LAYERS)
      .filter((folder) => folder !== 'storage' && folder !== 'llm')
      .flatMap((folder) => sourceFiles(folder))
      .filter((file) => /\b(openStore|createLlm)\(/.test(readFileSync(file, 'utf8')))
      .filter((file) => !allowed.has(file));
    expect(opening).toEqual([]);
    // The check reads real code: the roots do open the store.
    expect(/\bopenStore\(/.test(readFileSync('app/cli.ts', 'utf8'))).toBe(true);
  });
});

import { describe, expect, it } from 'vitest';
import { getPath, parsePath, renderJson, renderJsonText, renderText } from './template.ts';

describe('paths', () => {
  it.each([
    ['$.a.b[0].c', ['a', 'b', 0, 'c']],
    ['a.b.0.c', ['a', 'b', 0, 'c']],
    ["$['x.y'].z", ['x.y', 'z']],
    ['$', []],
    ['choices[0].message.content', ['choices', 0, 'message', 'content']],
  ])('parsePath(%s)', (path, expected) => {
    expect(parsePath(path)).toEqual(expected);
  });

  it('rejects malformed paths', () => {
    expect(parsePath('$.a[')).toBeNull();
    expect(parsePath('a..b')).toBeNull();
  });

  it('reads values and misses cleanly', () => {
    const v = { a: { b: [{ c: 'yes' }] }, 'x.y': { z: 1 } };
    expect(getPath(v, '$.a.b[0].c')).toBe('yes');
    expect(getPath(v, "$['x.y'].z")).toBe(1);
    expect(getPath(v, '$.a.b[3].c')).toBeUndefined();
    expect(getPath(v, 'a.toString')).toBeUndefined();
  });
});

describe('templates', () => {
  const vars = { input: 'say "hi"\n', messages: [{ role: 'user', content: 'x' }], metadata: { lang: 'fr' } };

  it('interpolates text and dotted names', () => {
    expect(renderText('{{input}}|{{ metadata.lang }}|{{missing}}', vars)).toBe('say "hi"\n|fr|');
  });

  it('keeps whole-placeholder values typed and never breaks out of JSON strings', () => {
    const body = renderJson(
      { q: '{{input}}', history: '{{messages}}', note: 'lang={{metadata.lang}}' },
      vars,
    );
    expect(body).toEqual({ q: 'say "hi"\n', history: [{ role: 'user', content: 'x' }], note: 'lang=fr' });
    const text = renderJsonText('{"q": "{{input}}"}', vars);
    expect(JSON.parse(text)).toEqual({ q: 'say "hi"\n' });
  });
});

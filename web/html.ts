// The one HTML escaping rule of the report pages. Pages are built with the `html` template: its literal parts are
// ours, every interpolated value is escaped exactly once unless it already is Html (built by `html` itself, or a
// chart's data URI attribute built here). User content (answers, inputs, reasons, names) is hostile: scripts,
// markup, control characters; it only ever reaches a page through `html`.

/** A piece of HTML built on purpose; `html` inserts it unescaped. */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const ENTITY: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

// C0 controls other than tab and newline, DEL and the C1 controls: shown as visible symbols (U+2400 block for C0,
// U+FFFD otherwise), so they can neither hide text nor confuse a parser. \r is dropped (\r\n becomes \n).
// biome-ignore lint/suspicious/noControlCharactersInRegex: these control characters are exactly what it replaces
const CONTROL_RE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g;

/** Escapes text for an HTML text node or a quoted attribute value (& < > " '), control characters made visible. */
export function escapeHtml(text: string): string {
  return text
    .replace(/\r\n?/g, '\n')
    .replace(CONTROL_RE, (c) => {
      const code = c.charCodeAt(0);
      return code < 0x20 ? String.fromCharCode(0x2400 + code) : '\ufffd';
    })
    .replace(/[&<>"']/g, (c) => ENTITY[c] ?? c);
}

type Value = Html | string | number | boolean | null | undefined | readonly Value[];

function render(value: Value): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

/** Template for HTML: every interpolated value is escaped once unless it is Html; arrays are joined. */
export function html(strings: TemplateStringsArray, ...values: Value[]): Html {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    out += render(value);
    out += strings[i + 1] ?? '';
  });
  return new Html(out);
}

/** Joins pieces of Html. */
export function join(parts: readonly Html[], sep = ''): Html {
  return new Html(parts.map((p) => p.text).join(sep));
}

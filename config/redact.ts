import { ENV_VARS, type Env, type EnvVarName, envValueText, SECRET_VARS } from './env.ts';

/** Marker that replaces a secret wherever one would be printed. */
export const REDACTED = '[redacted]';

/** The configuration as printable lines, secrets shown only as set/unset. */
export function describeEnv(env: Env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of Object.keys(ENV_VARS) as EnvVarName[]) {
    const value = env[name];
    if (value === undefined) continue;
    if (ENV_VARS[name].secret) out[name] = REDACTED;
    else out[name] = envValueText(name, value);
  }
  return out;
}

/** Secret values present in this environment, longest first, for scrubbing text. */
export function secretValues(env: Env): string[] {
  const values: string[] = [];
  for (const name of SECRET_VARS) {
    const v = env[name];
    if (typeof v !== 'string' || v.length < 6) continue;
    values.push(v);
    // A MongoDB URI's password can appear on its own in driver errors.
    if (name === 'MONGODB_URI') {
      const m = /^mongodb(?:\+srv)?:\/\/[^:/@]+:([^@]+)@/.exec(v);
      if (m?.[1] && m[1].length >= 4) values.push(m[1], decodeURIComponent(m[1]));
    }
  }
  return [...new Set(values)].sort((a, b) => b.length - a.length);
}

const MIN_SECRET_LENGTH = 6;
const URL_CREDENTIALS = /(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@"']+:)[^\s@/"']+@/gi;
const AUTH_SCHEME = /^\s*(?:Bearer|Basic|Token|Bot|ApiKey|Digest)\s+(\S.*)$/i;

/**
 * The base64 text that encodes `value` wherever it sits in a longer byte string: one core per byte alignment (0, 1,
 * 2), without the edge characters the neighbouring bytes share. A credential base64-encoded inside another (Basic
 * auth's `user:password`) contains one of them.
 */
function base64Cores(value: string): string[] {
  const bytes = Buffer.from(value, 'utf8');
  const cores: string[] = [];
  for (let k = 0; k < 3; k++) {
    const encoded = Buffer.concat([Buffer.alloc(k), bytes])
      .toString('base64')
      .replace(/=+$/, '');
    const first = Math.ceil((8 * k) / 6);
    const last = Math.floor((8 * (k + bytes.length) - 6) / 6);
    const core = encoded.slice(first, last + 1);
    if (core.length >= 8) cores.push(core, core.replace(/\+/g, '-').replace(/\//g, '_'));
  }
  return cores;
}

/** Decodes `value` if it is plausibly base64 of printable text (a Basic credential), else undefined. */
function decodeBase64Text(value: string): string | undefined {
  if (value.length < 8 || !/^[A-Za-z0-9+/_-]+={0,2}$/.test(value)) return undefined;
  const text = Buffer.from(value.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8');
  return /^[\x20-\x7e]+$/.test(text) ? text : undefined;
}

/**
 * Every form in which a secret may show up in text: itself, its credential without an auth scheme (`Bearer x`,
 * `Basic x`), its password part (`user:password`), base64 (also inside a longer base64 string such as a Basic
 * credential) and base64url, decoded when it is itself base64 text, URL-encoded, JSON-escaped and mrkdwn-escaped.
 */
export function secretForms(secret: string): string[] {
  const forms = new Set<string>();
  const add = (v: string | undefined) => {
    if (v === undefined) return;
    const t = v.trim();
    if (t.length >= MIN_SECRET_LENGTH) forms.add(t);
  };
  const credential = AUTH_SCHEME.exec(secret)?.[1];
  // The auth scheme is no secret: `Bearer x` reads `Bearer [redacted]`.
  const bases = credential ? [credential] : [secret];
  const decoded = credential ? decodeBase64Text(credential.trim()) : decodeBase64Text(secret.trim());
  if (decoded) bases.push(decoded);
  for (const base of bases) {
    if (base === undefined) continue;
    add(base);
    const colon = base.indexOf(':');
    if (colon > 0 && !/^[a-z][a-z0-9+.-]*:\/\//i.test(base)) add(base.slice(colon + 1));
  }
  for (const v of [...forms]) {
    for (const core of base64Cores(v)) add(core);
    add(encodeURIComponent(v));
    add(JSON.stringify(v).slice(1, -1));
    add(v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;'));
  }
  return [...forms];
}

/** Secrets known at run time: the environment's, and those that target construction resolves (http headers). */
export interface SecretRegistry {
  /** Registers a secret value (and every form of it, see `secretForms`); short values are ignored. */
  register(secret: string | undefined): void;
  /** Replaces every registered form, and credentials in URLs, with [redacted]. */
  scrub(text: string): string;
  /** Number of registered forms (tests, diagnostics); never the values. */
  readonly size: number;
}

/** Creates an empty registry (tests); the process shares `knownSecrets`. */
export function createSecretRegistry(): SecretRegistry {
  const forms = new Set<string>();
  let sorted: string[] = [];
  return {
    register(secret) {
      if (!secret || secret.trim().length < MIN_SECRET_LENGTH) return;
      let added = false;
      for (const f of secretForms(secret))
        if (!forms.has(f)) {
          forms.add(f);
          added = true;
        }
      // Longest first, so a secret is replaced whole before a part of it (its password) could be.
      if (added) sorted = [...forms].sort((a, b) => b.length - a.length);
    },
    scrub(text) {
      let out = text;
      for (const f of sorted) if (out.includes(f)) out = out.split(f).join(REDACTED);
      return out.replace(URL_CREDENTIALS, `$1${REDACTED}@`);
    },
    get size() {
      return forms.size;
    },
  };
}

/**
 * The process-wide registry of known secrets. `parseEnv` registers the environment's secrets, http targets the
 * values their headers resolve to; logs, stored errors, chat messages and reports pass through `scrubSecrets`.
 */
export const knownSecrets: SecretRegistry = createSecretRegistry();

/** Registers a secret in the process-wide registry. */
export function registerSecret(secret: string | undefined): void {
  knownSecrets.register(secret);
}

/** Registers the environment's secret values (tokens, keys, the MongoDB password) in the process-wide registry. */
export function registerEnvSecrets(env: Partial<Env>): void {
  for (const v of secretValues(env as Env)) knownSecrets.register(v);
}

/** Scrubs every secret of the process-wide registry (and URL credentials) from a text. */
export function scrubSecrets(text: string): string {
  return knownSecrets.scrub(text);
}

/** Scrubs every string inside a JSON-like value (a message, a document), returning a copy. */
export function scrubDeep<T>(value: T, scrub: (text: string) => string = scrubSecrets): T {
  if (typeof value === 'string') return scrub(value) as T;
  if (Array.isArray(value)) return value.map((v) => scrubDeep(v, scrub)) as T;
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = scrubDeep(v, scrub);
    return out as T;
  }
  return value;
}

/**
 * Returns a function that replaces every given secret (in all its forms), every secret of the process-wide
 * registry known at the time of the call, and credentials in URLs, in a string.
 */
export function createScrubber(secrets: readonly string[]): (text: string) => string {
  const own = createSecretRegistry();
  for (const s of secrets) if (s.length >= 4) own.register(s);
  // Secrets of 4 or 5 characters (short MongoDB passwords) are still replaced, verbatim only.
  const short = secrets.filter((s) => s.length >= 4 && s.length < MIN_SECRET_LENGTH);
  return (text: string) => {
    let out = knownSecrets.scrub(own.scrub(text));
    for (const s of short) if (out.includes(s)) out = out.split(s).join(REDACTED);
    return out;
  };
}

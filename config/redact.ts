import { ENV_VARS, type Env, type EnvVarName, SECRET_VARS } from './env.ts';

/** Marker that replaces a secret wherever one would be printed. */
export const REDACTED = '[redacted]';

/** The configuration as printable lines, secrets shown only as set/unset. */
export function describeEnv(env: Env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of Object.keys(ENV_VARS) as EnvVarName[]) {
    const value = env[name];
    if (value === undefined) continue;
    if (ENV_VARS[name].secret) out[name] = REDACTED;
    else out[name] = Array.isArray(value) ? value.join(',') : String(value);
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

/** Returns a function that replaces every known secret (and credentials in URLs) in a string. */
export function createScrubber(secrets: readonly string[]): (text: string) => string {
  const list = secrets.filter((s) => s.length >= 4);
  return (text: string) => {
    let out = text;
    for (const s of list) if (out.includes(s)) out = out.split(s).join(REDACTED);
    // user:password@ in any URL, whether or not we know the password.
    return out.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@"']+:)[^\s@/"']+@/gi, `$1${REDACTED}@`);
  };
}

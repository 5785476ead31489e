// A lean HTTP client for the hot paths of a run: `http` targets (one request per item and turn) and Langfuse calls
// (a score write per metric and item): node:http(s) with keep-alive agents, one timer per request, the body written
// with the headers, and no WHATWG streams. Measured against fetch in the runs and runs-tracing benchmarks (fetch costs
// several times the CPU per request: undici's stream plumbing, an AbortSignal and a socket write per body chunk).
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { urlToHttpOptions } from 'node:url';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';

const agents = {
  'http:': new HttpAgent({ keepAlive: true, maxSockets: 256 }),
  'https:': new HttpsAgent({ keepAlive: true, maxSockets: 256 }),
};

const decoders = new Map<string, () => NodeJS.ReadWriteStream>([
  ['gzip', createGunzip],
  ['x-gzip', createGunzip],
  ['deflate', createInflate],
  ['br', createBrotliDecompress],
]);

const targets = new Map<string, ReturnType<typeof urlToHttpOptions>>();

/** Why a request produced no response. */
export type HttpFailure = { kind: 'timeout' } | { kind: 'aborted' } | { kind: 'error'; message: string };

/** Response headers, names in lower case. */
export type HttpHeaders = Record<string, string | string[] | undefined>;

/** A response read to the end, or why there is none. */
export type HttpResult =
  | { ok: true; status: number; text: string; headers: HttpHeaders }
  | { ok: false; failure: HttpFailure };

/** Sends one request and reads the whole body; never throws. `timeoutMs` covers the request and the body. */
export function sendHttp(
  url: string,
  init: {
    method: string;
    headers: Record<string, string>;
    body?: string;
    timeoutMs: number;
    signal?: AbortSignal;
  },
): Promise<HttpResult> {
  return new Promise((resolve) => {
    // The same few URLs are requested over and over (a run's scores, an agent endpoint): parse each once.
    let target = targets.get(url);
    if (!target) {
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        resolve({ ok: false, failure: { kind: 'error', message: `invalid URL ${url}` } });
        return;
      }
      target = urlToHttpOptions(parsed);
      if (targets.size >= 1000) targets.clear();
      targets.set(url, target);
    }
    const protocol = target.protocol ?? '';
    const agent = agents[protocol as keyof typeof agents];
    if (!agent) {
      resolve({ ok: false, failure: { kind: 'error', message: `unsupported protocol ${protocol}` } });
      return;
    }
    let settled = false;
    const finish = (r: HttpResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      init.signal?.removeEventListener('abort', onAbort);
      resolve(r);
    };
    const send = protocol === 'https:' ? httpsRequest : httpRequest;
    const headers: Record<string, string | number> = { ...init.headers };
    if (init.body !== undefined) headers['content-length'] = Buffer.byteLength(init.body);
    const req = send({ ...target, method: init.method, headers, agent }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      // A body compressed because the caller asked for it (accept-encoding) is decoded, as fetch does.
      const bodiless = init.method === 'HEAD' || res.statusCode === 204 || res.statusCode === 304;
      const decode = bodiless
        ? undefined
        : decoders.get(String(res.headers['content-encoding'] ?? '').toLowerCase());
      const body = decode ? res.pipe(decode()) : res;
      if (decode)
        body.on('error', (err) => finish({ ok: false, failure: { kind: 'error', message: err.message } }));
      body.on('data', (c: Buffer) => chunks.push(c));
      body.on('end', () =>
        finish({
          ok: true,
          status: res.statusCode ?? 0,
          text: Buffer.concat(chunks).toString('utf8'),
          headers: res.headers,
        }),
      );
      res.on('error', (err) => finish({ ok: false, failure: { kind: 'error', message: err.message } }));
    });
    const timer = setTimeout(() => {
      finish({ ok: false, failure: { kind: 'timeout' } });
      req.destroy();
    }, init.timeoutMs);
    const onAbort = () => {
      finish({ ok: false, failure: { kind: 'aborted' } });
      req.destroy();
    };
    if (init.signal?.aborted) onAbort();
    else init.signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', (err) => finish({ ok: false, failure: { kind: 'error', message: err.message } }));
    req.end(init.body);
  });
}

const errorText = (err: unknown) => (err instanceof Error ? err.message || err.name : String(err));

/** The same contract as sendHttp over an injected fetch (tests, embedders with their own HTTP stack). */
export function viaFetch(doFetch: typeof fetch): typeof sendHttp {
  return async (url, init): Promise<HttpResult> => {
    const timeout = AbortSignal.timeout(init.timeoutMs);
    const signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
    try {
      const res = await doFetch(url, {
        method: init.method,
        headers: init.headers,
        ...(init.body !== undefined ? { body: init.body } : {}),
        signal,
      });
      const headers: HttpHeaders = {};
      res.headers.forEach((value, name) => {
        headers[name] = value;
      });
      return { ok: true, status: res.status, text: await res.text(), headers };
    } catch (err) {
      if (timeout.aborted && !init.signal?.aborted) return { ok: false, failure: { kind: 'timeout' } };
      if (init.signal?.aborted) return { ok: false, failure: { kind: 'aborted' } };
      return { ok: false, failure: { kind: 'error', message: errorText(err) } };
    }
  };
}

// A lean HTTP client for `http` targets, the hot path of a run (one request per item and turn): node:http(s) with
// keep-alive agents, one timer per request and no WHATWG streams. Measured against fetch in the runs benchmark.
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

const agents = {
  'http:': new HttpAgent({ keepAlive: true, maxSockets: 256 }),
  'https:': new HttpsAgent({ keepAlive: true, maxSockets: 256 }),
};

/** Why a request produced no response. */
export type HttpFailure = { kind: 'timeout' } | { kind: 'aborted' } | { kind: 'error'; message: string };

/** A response read to the end, or why there is none. */
export type HttpResult = { ok: true; status: number; text: string } | { ok: false; failure: HttpFailure };

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
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      resolve({ ok: false, failure: { kind: 'error', message: `invalid URL ${url}` } });
      return;
    }
    const agent = agents[parsed.protocol as keyof typeof agents];
    if (!agent) {
      resolve({ ok: false, failure: { kind: 'error', message: `unsupported protocol ${parsed.protocol}` } });
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
    const send = parsed.protocol === 'https:' ? httpsRequest : httpRequest;
    const headers: Record<string, string | number> = { ...init.headers };
    if (init.body !== undefined) headers['content-length'] = Buffer.byteLength(init.body);
    const req = send(parsed, { method: init.method, headers, agent }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        finish({ ok: true, status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
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

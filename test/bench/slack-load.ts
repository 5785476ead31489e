// The harness the Slack ingress benchmarks share (slack, reviews-votes): the bot runs in a child process as it
// would in production, talks to the parent over IPC, and is measured from inside (time from request to response,
// event-loop delay, CPU) while 50 keep-alive node:http clients in the parent send Slack-signed requests. A bare
// HTTP server in the bot's process gives the floor: what the clients, loopback and the machine's load cost alone.
import type { ChildProcess } from 'node:child_process';
import diagnostics from 'node:diagnostics_channel';
import { Agent, createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { signSlackRequest } from '../../bot/slack-signature.ts';

/** A request body signed for the Slack receiver; `retry` adds the retry header Slack sends on redelivery. */
export interface SignedRequest {
  body: string;
  ts: number;
  signature: string;
  retry?: boolean;
}

/** Signs form-encoded bodies with one timestamp (sign right before sending: the window is 5 minutes). */
export function signBodies(secret: string, bodies: readonly string[]): SignedRequest[] {
  const ts = Math.floor(Date.now() / 1000);
  return bodies.map((body) => ({ body, ts, signature: signSlackRequest(secret, ts, body) }));
}

/** Asks the child something over IPC and waits for the answer of that kind (or fails when the child exits). */
export function createChildAsk<From extends { kind: string }, To>(child: ChildProcess) {
  return <K extends From['kind']>(kind: K, msg?: To) =>
    new Promise<Extract<From, { kind: K }>>((resolve, reject) => {
      const onMessage = (m: From) => {
        if (m.kind !== kind) return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(m as Extract<From, { kind: K }>);
      };
      const onExit = (code: number | null) =>
        reject(new Error(`bot process exited (${code}) before '${kind}'`));
      child.on('message', onMessage);
      child.once('exit', onExit);
      if (msg) child.send(msg as object);
    });
}

/** What one load pass measured: time to response per request, non-200 count, wall time. */
export interface LoadResult {
  times: number[];
  errors: number;
  wallS: number;
}

/**
 * `clients` concurrent clients over node:http with keep-alive, not fetch: fetch costs several times more client
 * CPU per request, and the clients must not be what a benchmark measures.
 */
export function createSlackClients(clients: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: clients });
  const send = (base: string, req: SignedRequest) =>
    new Promise<{ ms: number; ok: boolean }>((resolve, reject) => {
      const t0 = performance.now();
      const r = request(
        `${base}/slack/events`,
        {
          method: 'POST',
          agent,
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            'content-length': Buffer.byteLength(req.body),
            'x-slack-request-timestamp': String(req.ts),
            'x-slack-signature': req.signature,
            ...(req.retry ? { 'x-slack-retry-num': '1' } : {}),
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve({ ms: performance.now() - t0, ok: res.statusCode === 200 }));
          res.on('error', reject);
        },
      );
      r.on('error', reject);
      r.end(req.body);
    });
  return {
    /** Sends every request, each client taking the next one as soon as its previous answer arrived. */
    async load(base: string, requests: readonly SignedRequest[]): Promise<LoadResult> {
      const times: number[] = [];
      let errors = 0;
      let next = 0;
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: clients }, async () => {
          for (let i = next++; i < requests.length; i = next++) {
            const r = await send(base, requests[i]!);
            times.push(r.ms);
            if (!r.ok) errors += 1;
          }
        }),
      );
      return { times, errors, wallS: (performance.now() - t0) / 1000 };
    },
    destroy: () => agent.destroy(),
  };
}

/** The bot's own figures since the last mark. */
export interface BotProbeFigures {
  cpuMs: number;
  serverAckMs: number[];
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
}

/**
 * Inside the bot's process: times each `/slack/events` request to its response (node:http diagnostics), the
 * event-loop delay and CPU; and starts the floor server. Call before the bot starts.
 */
export async function startBotProbes() {
  const loop = monitorEventLoopDelay({ resolution: 5 });
  const started = new WeakMap<ServerResponse, number>();
  const serverAckMs: number[] = [];
  diagnostics.subscribe('http.server.request.start', (m) => {
    const { request: req, response } = m as { request: IncomingMessage; response: ServerResponse };
    if (req.url?.startsWith('/slack/events')) started.set(response, performance.now());
  });
  diagnostics.subscribe('http.server.response.finish', (m) => {
    const t = started.get((m as { response: ServerResponse }).response);
    if (t !== undefined) serverAckMs.push(performance.now() - t);
  });
  const floor = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200).end());
  });
  await new Promise<void>((r) => floor.listen(0, '127.0.0.1', () => r()));
  let cpu0 = process.cpuUsage();
  loop.enable();
  return {
    floorUrl: `http://127.0.0.1:${(floor.address() as AddressInfo).port}`,
    /** Starts counting afresh (after warm-up). */
    mark() {
      serverAckMs.length = 0;
      loop.reset();
      cpu0 = process.cpuUsage();
    },
    /** Stops the loop-delay monitor and returns what was measured since the mark. */
    figures(): BotProbeFigures {
      loop.disable();
      const cpu = process.cpuUsage(cpu0);
      return {
        cpuMs: (cpu.user + cpu.system) / 1000,
        serverAckMs,
        loopDelayP99Ms: loop.percentile(99) / 1e6,
        loopDelayMaxMs: loop.max / 1e6,
      };
    },
    close: () => floor.close(),
  };
}

// The setup the outbox tests share: a fake Slack Web API on loopback (test/fixtures/fake-slack.ts, Slack's shapes and
// errors), a real embedded store in a temporary folder, the real Web API client pointed at the fake, and a real
// outbox delivering through the Slack transport. Everything is closed after each test, last opened first.
import { afterEach } from 'vitest';
import { createOutbox, type Outbox, type OutboxOptions } from '../../bot/outbox.ts';
import {
  classifySlackError,
  createSlackClient,
  createSlackTransport,
  type SlackClient,
} from '../../bot/slack-transport.ts';
import { createSilentLogger } from '../../config/index.ts';
import type { DocumentStore } from '../../storage/index.ts';
import { createEmbeddedStore } from '../../storage/open.ts';
import { type FakeSlack, startFakeSlack } from '../fixtures/fake-slack.ts';
import { tempDir } from './tmp.ts';

/** Registers what to close after the test. */
export type Defer = (...closers: (() => unknown)[]) => void;

/**
 * Closers run after each test of the enclosing `describe`, in reverse order of registration (a loop stops before
 * its store closes, the store before its folder is removed). Call it inside a `describe` (it adds an `afterEach`).
 */
export function closeAfterEach(): Defer {
  const closers: (() => unknown)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });
  return (...more) => {
    closers.push(...more);
  };
}

/** A fake Slack on loopback and an embedded store in a fresh temporary folder, both closed after the test. */
export async function fakeSlackAndStore(
  defer: Defer,
  prefix = 'arbiter-outbox-',
): Promise<{ slack: FakeSlack; store: DocumentStore; dir: string }> {
  const slack = await startFakeSlack();
  defer(() => slack.close());
  const { dir, cleanup } = tempDir(prefix);
  const store = await createEmbeddedStore({ dir, autocompactMs: 0 });
  defer(cleanup, () => store.close());
  return { slack, store, dir };
}

/**
 * The Web API client the bot uses, pointed at the fake: it does not retry on its own and hands rate limits back,
 * so the outbox's own retries are what the tests see.
 */
export function fakeSlackClient(slack: FakeSlack): SlackClient {
  return createSlackClient({
    token: 'xoxb-test',
    apiUrl: `${slack.url}/api/`,
    retries: 0,
    rejectRateLimitedCalls: true,
  });
}

/**
 * An outbox on `store` delivering through the Slack transport over `client`: Slack's error classifier, a short
 * back-off, every unfinished delivery recovered at start. Not started; `extra` overrides (pacing, crash points).
 */
export function openSlackOutbox(
  store: DocumentStore,
  client: SlackClient,
  extra: Partial<OutboxOptions> = {},
): Promise<Outbox> {
  const logger = createSilentLogger();
  return createOutbox({
    store,
    transport: createSlackTransport(client, logger),
    logger,
    classify: classifySlackError,
    backoffMs: 20,
    recoverAllAtStart: true,
    ...extra,
  });
}

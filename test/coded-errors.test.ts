// One coded-error shape (issue 17): every error class Arbiter throws on purpose carries `code`, `hint` and an exit
// code, and each front door has one handler that turns it into a user message.
import { describe, expect, it } from 'vitest';
import { SlackPostError } from '../bot/slack-transport.ts';
import { errorMessage } from '../commands/messages.ts';
import { ArbiterError, formatUserError, isCodedError } from '../config/index.ts';
import { LangfuseError } from '../langfuse/errors.ts';
import { LlmError } from '../llm/errors.ts';
import { PermanentJobError } from '../storage/worker.ts';

describe('coded errors', () => {
  it.each([
    [new ArbiterError('USAGE', 'bad words', { hint: 'try help' }), 'USAGE', 2],
    [new ArbiterError('STORE_UNAVAILABLE', 'store down'), 'STORE_UNAVAILABLE', 3],
    [
      new LlmError('LLM_NO_KEY', 'anthropic:x cannot be called: no key.', { hint: 'Set ANTHROPIC_API_KEY.' }),
      'LLM_NO_KEY',
      3,
    ],
    [
      new LangfuseError('LANGFUSE_UNAUTHORIZED', 'Langfuse refused the keys (401).'),
      'LANGFUSE_UNAUTHORIZED',
      3,
    ],
    [new SlackPostError('not_in_channel', 'Invite the bot.'), 'SLACK_API_ERROR', 3],
    [new PermanentJobError('run r1 not found'), 'JOB_PERMANENT', 2],
  ] as const)('%s has the shared shape', (err, code, exit) => {
    expect(isCodedError(err)).toBe(true);
    expect(err.code).toBe(code);
    expect(err.exitCode).toBe(exit);
    expect('hint' in err).toBe(true);
  });

  it('a Node system error or a plain error is not one of ours', () => {
    const enoent = Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' });
    expect(isCodedError(enoent)).toBe(false);
    expect(isCodedError(new Error('boom'))).toBe(false);
    expect(formatUserError(enoent)).toBe('Unexpected internal error (details are in the logs).');
  });

  it('the chat handler tells our own words (with the hint) and only a reference for the rest', () => {
    const noKey = JSON.stringify(
      errorMessage(
        new LlmError('LLM_NO_KEY', 'anthropic:x cannot be called: no key.', {
          hint: 'Set ANTHROPIC_API_KEY.',
        }),
        'err_1',
      ),
    );
    expect(noKey).toContain('cannot be called');
    expect(noKey).toContain('Set ANTHROPIC_API_KEY.');
    const provider = JSON.stringify(
      errorMessage(new LlmError('LLM_PROVIDER_ERROR', 'upstream said <html>…'), 'err_2'),
    );
    expect(provider).not.toContain('upstream');
    expect(provider).toContain('err_2');
    expect(
      formatUserError(new LangfuseError('LANGFUSE_UNAUTHORIZED', 'Langfuse refused the keys (401).')),
    ).toBe(
      'Langfuse refused the keys (401).\nCheck LANGFUSE_PUBLIC_KEY, LANGFUSE_SECRET_KEY and LANGFUSE_BASE_URL.',
    );
  });
});

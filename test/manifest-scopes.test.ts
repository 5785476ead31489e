// manifest.yml must grant every scope the code needs (issue 16, Deliver 4). The Web API methods are found in the
// source itself (`client.<family>.<method>(`, `call('<method>'`, `apiCall('<method>'`), each mapped to its scopes as
// api.slack.com/methods/<method> lists them; a method missing from the map, or a scope missing from the manifest,
// fails the test.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const ROOT = join(import.meta.dirname, '..');
const SOURCE_DIRS = [
  'bot',
  'commands',
  'monitors',
  'digests',
  'reviews',
  'prompts',
  'runs',
  'storage',
  'config',
  'cli',
];

/**
 * Bot-token scopes per Web API method (one inner list = any one of them, by channel type). Sources:
 * https://api.slack.com/methods/chat.postMessage (chat:write), …/chat.postEphemeral (chat:write),
 * …/chat.update (chat:write), …/conversations.history and …/conversations.replies (channels:history,
 * groups:history, im:history, mpim:history by channel type), …/conversations.list and …/users.conversations
 * (channels:read, groups:read, im:read, mpim:read by type), …/files.getUploadURLExternal and
 * …/files.completeUploadExternal (files:write), …/usergroups.users.list (usergroups:read), …/views.publish (none),
 * …/conversations.info (channels:read, groups:read, im:read, mpim:read by type) and …/conversations.open (im:write
 * for a DM with one user; channels:manage, groups:write, mpim:write for other kinds, which Arbiter never opens).
 */
const METHOD_SCOPES: Record<string, string[][]> = {
  'chat.postMessage': [['chat:write']],
  'chat.postEphemeral': [['chat:write']],
  'chat.update': [['chat:write']],
  // Arbiter reads public and private channels: it needs both.
  'conversations.history': [['channels:history'], ['groups:history']],
  'conversations.replies': [['channels:history'], ['groups:history']],
  // Listed with types=public_channel,private_channel.
  'conversations.list': [['channels:read'], ['groups:read']],
  'users.conversations': [['channels:read'], ['groups:read']],
  'files.getUploadURLExternal': [['files:write']],
  'files.completeUploadExternal': [['files:write']],
  'usergroups.users.list': [['usergroups:read']],
  'views.publish': [],
  // The membership check before run and review reads every kind of conversation a command can come from.
  'conversations.info': [['channels:read'], ['groups:read'], ['im:read'], ['mpim:read']],
  // Arbiter opens only 1:1 DMs (a reply that reached the user by no other route).
  'conversations.open': [['im:write']],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') && !name.endsWith('.test.ts') ? [path] : [];
  });
}

/** Every Web API method the source calls. */
function calledMethods(): Map<string, string[]> {
  const found = new Map<string, string[]>();
  const add = (method: string, file: string) => found.set(method, [...(found.get(method) ?? []), file]);
  for (const dir of SOURCE_DIRS) {
    for (const file of sourceFiles(join(ROOT, dir))) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/\bclient\.([a-z]+(?:\.[a-zA-Z]+)+)\s*\(/g)) add(m[1]!, file);
      for (const m of text.matchAll(/\b(?:call|apiCall)\(\s*['"]([a-z]+\.[a-zA-Z.]+)['"]/g)) add(m[1]!, file);
    }
  }
  return found;
}

const manifest = parse(readFileSync(join(ROOT, 'manifest.yml'), 'utf8')) as {
  features: { app_home: { messages_tab_enabled: boolean; messages_tab_read_only_enabled: boolean } };
  oauth_config: { scopes: { bot: string[] } };
};
const granted = new Set(manifest.oauth_config.scopes.bot);

describe('manifest.yml scopes', () => {
  const methods = calledMethods();

  it('finds the Web API methods the code calls', () => {
    // A sanity floor: the grep must see the calls it is meant to see.
    for (const m of [
      'chat.postMessage',
      'conversations.history',
      'conversations.list',
      'files.completeUploadExternal',
    ])
      expect([...methods.keys()]).toContain(m);
  });

  it('maps every called method to its scopes', () => {
    const unmapped = [...methods.keys()].filter((m) => !(m in METHOD_SCOPES));
    expect(unmapped, `map these methods to their scopes (api.slack.com/methods/<method>)`).toEqual([]);
  });

  it('grants every scope a called method needs', () => {
    const missing: string[] = [];
    for (const [method, files] of methods) {
      for (const anyOf of METHOD_SCOPES[method] ?? [])
        if (!anyOf.some((s) => granted.has(s)))
          missing.push(
            `${anyOf.join(' or ')} (for ${method}, called in ${files.map((f) => f.slice(ROOT.length + 1)).join(', ')})`,
          );
    }
    expect(missing).toEqual([]);
  });

  it('keeps the Messages tab visible, since --dm ballots and admin notices are sent there', () => {
    expect(manifest.features.app_home.messages_tab_enabled).toBe(true);
    expect(manifest.features.app_home.messages_tab_read_only_enabled).toBe(true);
    expect(granted.has('commands')).toBe(true);
  });
});

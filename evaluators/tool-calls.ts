// Reading tool calls from the shapes agents and traces write them in, into the one `{name, args}` shape of items.
import type { ToolCall } from './types.ts';

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Arguments given as an object, as a JSON text of one (OpenAI's `arguments`), or absent. */
function readArgs(raw: unknown): { ok: true; args: Record<string, unknown> } | { ok: false; error: string } {
  if (raw === undefined || raw === null || raw === '') return { ok: true, args: {} };
  if (isRecord(raw)) return { ok: true, args: raw };
  if (typeof raw === 'string') {
    try {
      const parsed: unknown = JSON.parse(raw);
      if (isRecord(parsed)) return { ok: true, args: parsed };
    } catch {
      // reported below
    }
    return { ok: false, error: 'arguments are a text that is not a JSON object' };
  }
  return { ok: false, error: 'arguments are not an object' };
}

/**
 * Reads a list of tool calls. Each call may be written `{name, args}` (ours), `{name, arguments}` (arguments as an
 * object or a JSON text), `{name, input}` (Anthropic `tool_use`), or `{function: {name, arguments}}` (OpenAI
 * `tool_calls`). A single call object is read as a list of one. Anything else is an error naming the call.
 */
export function readToolCalls(
  value: unknown,
): { ok: true; calls: ToolCall[] } | { ok: false; error: string } {
  const list = Array.isArray(value) ? value : isRecord(value) ? [value] : undefined;
  if (!list) return { ok: false, error: 'expected a list of tool calls `[{name, args}]`' };
  const calls: ToolCall[] = [];
  for (const [i, raw] of list.entries()) {
    const call = isRecord(raw) && isRecord(raw.function) ? raw.function : raw;
    if (!isRecord(call) || typeof call.name !== 'string' || call.name === '')
      return { ok: false, error: `tool call ${i + 1} has no \`name\`` };
    const args = readArgs(call.args ?? call.arguments ?? call.input);
    if (!args.ok) return { ok: false, error: `tool call ${i + 1} (${call.name}): ${args.error}` };
    calls.push({ name: call.name, args: args.args });
  }
  return { ok: true, calls };
}

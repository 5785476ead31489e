// Personas for multi-turn items: YAML, or Markdown with YAML front matter (the body adds to the description).
// Errors name the file, line and field like every other YAML file.
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { z } from 'zod';
import { ArbiterError, parseYaml, type YamlProblem } from '../config/index.ts';

/** A simulated user: who they are, what they want, how they write, and optional scripted turns. */
export const PersonaSchema = z.strictObject({
  name: z.string().min(1).describe('shown in reports beside each conversation'),
  goal: z
    .string()
    .min(1)
    .describe('what the user wants; the goal check ends the conversation once it is met'),
  traits: z
    .array(z.string())
    .default([])
    .describe('how the user behaves, e.g. impatient, non-native speaker'),
  style: z.string().optional().describe('how the user writes, e.g. short sentences, no greetings'),
  turns: z
    .array(z.string().min(1))
    .optional()
    .describe('user turns played in order when the suite has no `simulator` model (and offline)'),
  description: z
    .string()
    .optional()
    .describe(
      'more about the user for the simulator; in a Markdown persona, the body after the front matter',
    ),
});

/** A simulated user. */
export type Persona = z.infer<typeof PersonaSchema>;

/** Parses persona text (YAML or Markdown with front matter); problems carry file-relative lines. */
export function parsePersona(
  text: string,
  file: string,
): { ok: true; value: Persona } | { ok: false; problems: YamlProblem[] } {
  const isMarkdown = /\.(md|markdown)$/i.test(extname(file));
  if (!isMarkdown) return parseYaml(text, PersonaSchema, file);
  const m = /^---\r?\n([\s\S]*?)\r?\n---\r?\n?([\s\S]*)$/.exec(text.replace(/^\uFEFF/, ''));
  if (!m) {
    return {
      ok: false,
      problems: [
        {
          file,
          line: 1,
          column: 1,
          field: '(front matter)',
          message: 'expected front matter between --- lines',
        },
      ],
    };
  }
  const parsed = parseYaml(m[1]!, PersonaSchema, file);
  // The front matter starts on line 2 of the file.
  if (!parsed.ok) return { ok: false, problems: parsed.problems.map((p) => ({ ...p, line: p.line + 1 })) };
  const body = m[2]!.trim();
  const description = [parsed.value.description, body].filter(Boolean).join('\n\n');
  return { ok: true, value: { ...parsed.value, ...(description ? { description } : {}) } };
}

/** Reads one persona file; throws YAML_INVALID naming file, line and field. */
export function loadPersonaFile(file: string): Persona {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ArbiterError(
      'YAML_INVALID',
      `${file}: cannot read persona (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  const parsed = parsePersona(text, file);
  if (!parsed.ok) {
    throw new ArbiterError(
      'YAML_INVALID',
      parsed.problems.map((p) => `${p.file}:${p.line}:${p.column}: ${p.field}: ${p.message}`).join('\n'),
      { details: parsed.problems },
    );
  }
  return parsed.value;
}

/** The persona as the simulator prompt describes it. */
export function describePersona(p: Persona): string {
  return [
    `Name: ${p.name}`,
    `Goal: ${p.goal}`,
    p.traits.length ? `Traits: ${p.traits.join(', ')}` : '',
    p.style ? `Style: ${p.style}` : '',
    p.description ?? '',
  ]
    .filter(Boolean)
    .join('\n');
}

/**
 * What a persona adds to the item its conversation is scored as: its name and goal in `metadata`, so `goal-achieved`
 * judges the final transcript against the goal. A row's own `metadata.goal` or `metadata.persona` is kept.
 */
export function personaItemMetadata(
  persona: Persona,
  metadata: Record<string, unknown> | undefined,
): Record<string, unknown> {
  return { persona: persona.name, goal: persona.goal, ...(metadata ?? {}) };
}

// Builds the prompt-change alert as a transport-neutral Message: what changed in a few fields, a short diff
// preview, buttons, and the full diff in the thread. Pure; sized well inside Block Kit limits (bot/ enforces them).
import { escapeMrkdwn, type Message, type MessageButton, type MessageSection } from '../chat/index.ts';
import { type PromptDiff, renderPromptDiff } from './diff.ts';
import { describeMove, type PromptChange } from './label-moves.ts';
import { PROMPT_ACTION_IDS } from './suites.ts';

/** Preview of the diff in the main message: at most this many lines and characters. */
export const DIFF_PREVIEW_LINES = 30;
export const DIFF_PREVIEW_CHARS = 1500;
/** Each thread reply carries at most this many characters of diff (a section holds 3000). */
export const THREAD_CHUNK_CHARS = 2800;
/** Thread replies of diff at most; a bigger diff says where to read the rest. */
export const MAX_THREAD_CHUNKS = 15;
/** Buttons in the alert at most (Slack: 25 per actions block). */
export const MAX_BUTTONS = 20;

/** The diff outcome for an alert: a diff, a reason there is none, or nothing to diff (deletions, tags). */
export type AlertDiff = { ok: true; diff: PromptDiff } | { ok: false; reason: string } | undefined;

/** A suite button's data: suite name and the stored token the button carries. */
export interface SuiteButton {
  suite: string;
  runToken: string;
  compareToken?: string;
}

/** Everything the alert shows. */
export interface PromptAlertInput {
  change: PromptChange;
  diff: AlertDiff;
  promptType?: 'text' | 'chat';
  suites: SuiteButton[];
  /** Link to the prompt in the Langfuse UI. */
  link?: string;
}

function actionLabel(change: PromptChange): string {
  const parts: string[] = [];
  if (change.created.length > 0) parts.push('created');
  if (change.moves.length > 0) parts.push('labels moved');
  else if (change.updated.length > 0) parts.push('labels/tags updated');
  if (change.deleted.length > 0) parts.push('deleted');
  return parts.join(', ');
}

function headline(change: PromptChange): string {
  const bits: string[] = [];
  if (change.created.length > 0) bits.push(`${change.created.map((v) => `v${v}`).join(', ')} created`);
  const sure = change.moves.filter((m) => m.from !== undefined || m.certain);
  if (sure.length > 0) bits.push(sure.map(describeMove).join('; '));
  if (change.deleted.length > 0) bits.push(`${change.deleted.map((v) => `v${v}`).join(', ')} deleted`);
  if (bits.length === 0) bits.push(`v${change.focus} labels/tags updated`);
  return `${change.name}: ${bits.join('; ')} by ${change.users.join(', ')}`;
}

function cutLines(text: string, maxLines: number, maxChars: number): { text: string; cut: boolean } {
  const lines = text.split('\n');
  const out: string[] = [];
  let size = 0;
  for (const line of lines) {
    if (out.length >= maxLines || size + line.length + 1 > maxChars)
      return { text: out.join('\n'), cut: true };
    out.push(line);
    size += line.length + 1;
  }
  return { text: out.join('\n'), cut: false };
}

/** Splits text on line boundaries into pieces of at most `max` characters (a longer line is split itself). */
export function chunkLines(text: string, max: number): string[] {
  const chunks: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    for (let line = raw; ; ) {
      const piece = line.length > max ? line.slice(0, max) : line;
      if (current.length + piece.length + 1 > max && current) {
        chunks.push(current);
        current = '';
      }
      current = current ? `${current}\n${piece}` : piece;
      if (line.length <= max) break;
      line = line.slice(max);
    }
  }
  if (current) chunks.push(current);
  return chunks;
}

/** Buttons: Run <suite> for every watching suite and Compare with production, within MAX_BUTTONS. */
export function alertButtons(suites: readonly SuiteButton[]): { buttons: MessageButton[]; left: string[] } {
  const buttons: MessageButton[] = [];
  const left: string[] = [];
  const many = suites.filter((s) => s.compareToken).length > 1;
  // Slack wants unique action ids per message: later buttons get bot/'s `~n` suffix (baseActionId undoes it).
  const seen = new Map<string, number>();
  const id = (base: string) => {
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    return n === 1 ? base : `${base}~${n}`;
  };
  for (const s of suites) {
    const wanted = 1 + (s.compareToken ? 1 : 0);
    if (buttons.length + wanted > MAX_BUTTONS) {
      left.push(s.suite);
      continue;
    }
    buttons.push({
      text: `Run ${s.suite}`.slice(0, 75),
      actionId: id(PROMPT_ACTION_IDS.runSuite),
      value: s.runToken,
      // One primary button per set: the first suite's Run.
      ...(buttons.length === 0 ? { style: 'primary' as const } : {}),
    });
    if (s.compareToken) {
      buttons.push({
        text: (many ? `Compare ${s.suite} with production` : 'Compare with production').slice(0, 75),
        actionId: id(PROMPT_ACTION_IDS.compareProduction),
        value: s.compareToken,
      });
    }
  }
  return { buttons, left };
}

/** Builds the alert message. */
export function buildPromptAlert(input: PromptAlertInput): Message {
  const { change } = input;
  // Names come from Langfuse payloads: escaped so they cannot carry mentions or links into Slack's mrkdwn.
  const sections: MessageSection[] = [{ kind: 'text', text: escapeMrkdwn(headline(change)) }];
  const labels = change.labelsAfter.find((l) => l.version === change.focus)?.labels ?? [];
  sections.push({
    kind: 'fields',
    fields: [
      { label: 'Prompt', value: change.name },
      { label: 'Version', value: `v${change.focus}${input.promptType ? ` (${input.promptType})` : ''}` },
      { label: 'Action', value: actionLabel(change) },
      { label: 'Who', value: change.users.join(', ') },
      ...(change.commitMessage ? [{ label: 'Commit message', value: change.commitMessage }] : []),
      { label: 'Labels now', value: labels.length > 0 ? labels.join(', ') : '(none)' },
    ],
  });
  if (change.moves.length > 0)
    sections.push({ kind: 'context', items: change.moves.slice(0, 10).map(describeMove) });

  const thread: Message[] = [];
  const diff = input.diff;
  if (diff?.ok) {
    const full = renderPromptDiff(diff.diff);
    const preview = cutLines(full, DIFF_PREVIEW_LINES, DIFF_PREVIEW_CHARS);
    const from = diff.diff.fromVersion === undefined ? 'nothing' : `v${diff.diff.fromVersion}`;
    const why = change.baseline?.reason === 'label-holder' ? ' (the previous holder of the label)' : '';
    sections.push({
      kind: 'code',
      label: `Diff ${from} → v${diff.diff.toVersion}${why}: +${diff.diff.stats.added} −${diff.diff.stats.removed} lines${diff.diff.config.length > 0 ? `, ${diff.diff.config.length} config change(s)` : ''}`,
      text: preview.text || '(empty)',
    });
    const chunks = chunkLines(full, THREAD_CHUNK_CHARS);
    const shown = chunks.slice(0, MAX_THREAD_CHUNKS);
    for (const [i, text] of shown.entries()) {
      thread.push({
        title: `Full diff ${from} → v${diff.diff.toVersion}${chunks.length > 1 ? ` (${i + 1}/${chunks.length})` : ''}`,
        sections: [{ kind: 'code', text }],
        summary: `Diff of ${change.name} ${from} → v${diff.diff.toVersion}`,
      });
    }
    if (chunks.length > shown.length) {
      thread.push({
        title: 'Diff cut',
        sections: [
          {
            kind: 'text',
            text: `The diff continues for ${chunks.length - shown.length} more part(s); open the prompt in Langfuse to read the rest.`,
          },
        ],
      });
    }
    if (preview.cut || chunks.length > 1)
      sections.push({ kind: 'context', items: ['Diff preview cut: the full diff is in the thread.'] });
    else if (shown.length === 1) sections.push({ kind: 'context', items: ['Full diff also in the thread.'] });
  } else if (diff && !diff.ok) {
    sections.push({ kind: 'context', items: [`No diff: ${diff.reason}`] });
  }

  const { buttons, left } = alertButtons(input.suites);
  if (buttons.length > 0) sections.push({ kind: 'buttons', buttons });
  const notes: string[] = [];
  if (left.length > 0) notes.push(`Also watching (no room for buttons): ${left.join(', ')}`);
  if (input.suites.length === 0 && !change.deleted.includes(change.focus)) {
    notes.push(
      `No suite watches this prompt: add watch: { prompts: [${change.name}] } to a suite to get Run buttons.`,
    );
  }
  if (input.link) notes.push(`Langfuse: ${input.link}`);
  if (notes.length > 0) sections.push({ kind: 'context', items: notes });

  return {
    title: `Prompt changed: ${change.name}`,
    summary: headline(change),
    sections,
    ...(thread.length > 0 ? { thread } : {}),
  };
}

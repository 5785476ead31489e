// The App Home tab: recent runs with scores, and an honest note for each capability that is not built yet.
import type { Message } from '../commands/message.ts';
import type { Run } from '../runs/index.ts';
import { type Block, renderBlocks, SLACK_LIMITS } from './render-blocks.ts';

/** A Home tab view for views.publish. */
export interface HomeView {
  type: 'home';
  blocks: Block[];
}

function runLine(r: Run): string {
  const mean = r.summary?.meanScore ?? r.progress.meanScore;
  const verdict = r.summary ? (r.summary.gate.passed ? 'passed' : 'failed') : r.status;
  return `${r.suiteName}: ${verdict}, mean ${mean === null ? '—' : mean.toFixed(3)}, ${r.progress.done}/${r.total} items (${r._id})`;
}

/** The Home tab as a Message (also what tests and the console can show). */
export function homeMessage(runs: readonly Run[], command: string): Message {
  return {
    title: 'Arbiter',
    summary: 'Arbiter home',
    sections: [
      { kind: 'text', text: `Recent runs${runs.length ? '' : ': none yet'}` },
      ...(runs.length ? [{ kind: 'code' as const, text: runs.map(runLine).join('\n') }] : []),
      { kind: 'divider' },
      {
        kind: 'fields',
        fields: [
          { label: 'Open reviews', value: 'not available yet (issue 7)' },
          { label: 'Leaderboard', value: 'not available yet (issue 7)' },
          { label: 'Monitors', value: 'status on the Home tab not built yet: use `/arbiter monitor list`' },
          { label: 'Digests', value: 'not available yet (issue 9)' },
        ],
      },
      {
        kind: 'context',
        items: [`Start a run with ${command} run <suite>; ${command} help lists every command.`],
      },
    ],
  };
}

/** Renders the Home tab within the view limit (100 blocks). */
export function buildHomeView(runs: readonly Run[], command: string): HomeView {
  const { blocks } = renderBlocks(homeMessage(runs, command));
  return { type: 'home', blocks: blocks.slice(0, SLACK_LIMITS.blocksPerView) };
}

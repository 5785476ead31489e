// Transport-neutral Messages of blind reviews, pure: the ballot (blind by construction: it is built from the pair's
// token, input and answers only), the close report with the reveal, and the leaderboard.
import {
  escapeMrkdwn,
  type Message,
  type MessageButton,
  type MessageSection,
  md,
  mention,
} from '../chat/index.ts';
import { type Agreement, describeKappa } from './agreement.ts';
import type { RatingsTable } from './ratings.ts';
import { CHOICE_LABELS, type Choice } from './types.ts';

/** Action id prefix of review buttons: the front door routes `review:…` clicks to the review handler. */
export const REVIEW_ACTION_PREFIX = 'review';

/** Action ids of the ballot buttons; the value of each is the opaque ballot token and nothing else. */
export const REVIEW_ACTION_IDS = {
  vote: (choice: Choice) => `review:vote:${choice}`,
  reason: 'review:reason',
} as const;

// Block Kit sections hold 3000 characters; the rest of an answer is cut with a visible mark.
const MAX_SECTION = 2900;

function clip(text: string, max = MAX_SECTION): string {
  return text.length <= max ? text : `${text.slice(0, max - 20)}\n… (truncated)`;
}

/** What a ballot shows: no run, model, review id or hidden order, only what the reviewer judges. */
export interface BallotContent {
  seq: number;
  token: string;
  input: string;
  answerA: string;
  answerB: string;
}

/** The ballot buttons (values carry the token only). */
export function ballotButtons(token: string): MessageButton[] {
  const choices: Choice[] = ['a', 'b', 'tie', 'both_bad'];
  return [
    ...choices.map(
      (c): MessageButton => ({
        text: CHOICE_LABELS[c],
        actionId: REVIEW_ACTION_IDS.vote(c),
        value: token,
      }),
    ),
    { text: 'Add a reason', actionId: REVIEW_ACTION_IDS.reason, value: token },
  ];
}

/**
 * One blind ballot: the input, answer A, answer B and the vote buttons (omitted once voting has ended). `notes` are
 * our mrkdwn (built with `md`: a mention pings, every value is escaped).
 */
export function ballotMessage(
  pair: BallotContent,
  total: number,
  opts: { notes?: string[]; buttons?: boolean; ephemeral?: boolean } = {},
): Message {
  const sections: MessageSection[] = [
    { kind: 'code', label: 'Input', text: clip(pair.input) },
    { kind: 'code', label: 'Answer A', text: clip(pair.answerA) },
    { kind: 'code', label: 'Answer B', text: clip(pair.answerB) },
  ];
  if (opts.buttons !== false) sections.push({ kind: 'buttons', buttons: ballotButtons(pair.token) });
  sections.push({
    kind: 'context',
    mrkdwn: true,
    items: [
      ...(opts.notes ?? []),
      'Which answer is better? Who wrote which answer is revealed when the review closes.',
    ].slice(0, 10),
  });
  return {
    title: `Blind review: pair ${pair.seq} of ${total}`,
    summary: `Blind review pair ${pair.seq} of ${total}: which answer is better?`,
    sections,
    ...(opts.ephemeral ? { ephemeral: true } : {}),
  };
}

/** The parent message of a review in its channel (blind too: it names no run). */
export function parentMessage(input: {
  pairCount: number;
  reviewersPerPair: number;
  dm: boolean;
  reviewers: number;
  deadline?: Date | undefined;
}): Message {
  const where = input.dm
    ? `Ballots were sent by direct message to ${input.reviewers} reviewer${input.reviewers === 1 ? '' : 's'}.`
    : 'Vote on each pair in this thread.';
  const text = `A blind pairwise review is open: ${input.pairCount} pair${input.pairCount === 1 ? '' : 's'}, ${input.reviewersPerPair} vote${input.reviewersPerPair === 1 ? '' : 's'} per pair. ${where}`;
  return {
    title: 'Blind review open',
    summary: text,
    sections: [
      { kind: 'text', text },
      {
        kind: 'context',
        items: [
          input.deadline
            ? `Closes at ${input.deadline.toISOString()}.`
            : 'Closes when every pair has its votes.',
          'The answers come from different runs; which is which is revealed here when the review closes.',
        ],
      },
    ],
  };
}

/** Everything the close report shows. */
export interface ReviewReportData {
  reviewId: string;
  closedReason: string;
  contenders: { label: string; runId: string; suiteName: string; shownA: number; shownB: number }[];
  table: RatingsTable;
  votes: { total: number; expected: number; pairsComplete: number; pairCount: number };
  verdict: { text: string; better: string | null; significant: boolean; pValue: number | null };
  reasons: { text: string; chose: string }[];
  participation: { user: string; votes: number }[];
  judge: {
    status: 'pending' | 'done' | 'skipped';
    judged: number;
    model?: string | undefined;
    heuristic: boolean;
    agreement: Agreement;
  };
}

function fmt(n: number, digits = 0): string {
  return n.toFixed(digits);
}

function pct(x: number | null): string {
  return x === null ? '—' : `${(x * 100).toFixed(0)}%`;
}

/** What a row shows in place of an interval when its contender has too few votes. */
export function notEnoughVotes(games: number, minVotes: number): string {
  return `not enough votes (${games} of ${minVotes})`;
}

/**
 * A ratings table as aligned text rows (rank, contender, rating, interval, record, win rate). A contender
 * without enough votes shows no rank and "not enough votes (n of min)" instead of an interval.
 */
export function ratingsRows(table: RatingsTable): string {
  const rows = table.contenders.map((r) => {
    const ci = !r.enoughVotes
      ? notEnoughVotes(r.games, table.settings.minVotes)
      : r.ci
        ? `[${fmt(r.ci.lower)}, ${fmt(r.ci.upper)}]`
        : '';
    const rank = r.rank === null ? ' —' : String(r.rank).padStart(2);
    return `${rank}  ${r.name}  ${fmt(r.rating)} ${ci}  W${r.wins} L${r.losses} T${r.ties} BB${r.bothBad}  win rate ${pct(r.winRate)}`;
  });
  for (const name of table.unrated) rows.push(` —  ${name}  unrated (no votes)`);
  return rows.length ? rows.join('\n') : 'No contenders.';
}

/** The result posted in the review's thread when it closes: reveal, ratings, verdict, reasons, participation, judge. */
export function reportMessage(d: ReviewReportData): Message {
  const reveal = d.contenders
    .map(
      (c) =>
        `• *${escapeMrkdwn(c.label)}*: run \`${escapeMrkdwn(c.runId)}\` (suite ${escapeMrkdwn(c.suiteName)}), shown as A in ${c.shownA} pair${c.shownA === 1 ? '' : 's'} and as B in ${c.shownB}`,
    )
    .join('\n');
  const a = d.judge.agreement;
  const judgeLine =
    d.judge.status === 'skipped'
      ? 'No pairwise judge was configured for this review.'
      : a.n === 0
        ? `The judge${d.judge.model ? ` (${escapeMrkdwn(d.judge.model)})` : ''} has no verdict to compare with the votes yet (${d.judge.judged} of ${d.votes.pairCount} pairs judged).`
        : `Human–judge agreement over ${a.n} vote${a.n === 1 ? '' : 's'}: ${pct(a.percent)} agree, Cohen's kappa ${a.kappa === null ? 'undefined (one label only)' : a.kappa.toFixed(2)} (${describeKappa(a.kappa)}). Judge${d.judge.model ? ` ${escapeMrkdwn(d.judge.model)}` : ''}: ${d.judge.judged} of ${d.votes.pairCount} pairs judged${d.judge.heuristic ? '; offline heuristic, not an LLM verdict' : ''}.`;
  const sections: MessageSection[] = [
    { kind: 'text', text: md`*Verdict:* ${d.verdict.text}` },
    { kind: 'text', text: `*Reveal*\n${reveal}` },
    { kind: 'code', label: 'Ratings (Bradley–Terry, 95% bootstrap intervals)', text: ratingsRows(d.table) },
    {
      kind: 'fields',
      // Mrkdwn values: the reviewers are mentioned on purpose (the reveal thanks them by name).
      mrkdwn: true,
      fields: [
        { label: 'Votes', value: md`${d.votes.total} of ${d.votes.expected} expected` },
        { label: 'Pairs with all votes', value: md`${d.votes.pairsComplete} of ${d.votes.pairCount}` },
        {
          label: 'Reviewers',
          value: d.participation.length
            ? d.participation.map((p) => md`${mention(p.user)} ${p.votes}`).join(', ')
            : 'nobody voted',
        },
        { label: 'Closed', value: md`${d.closedReason}` },
      ],
    },
    { kind: 'text', text: `*Judge*\n${judgeLine}` },
  ];
  if (d.reasons.length)
    sections.push({
      kind: 'text',
      text: `*Notable reasons*\n${d.reasons.map((r) => `• “${escapeMrkdwn(r.text)}” (chose ${escapeMrkdwn(r.chose)})`).join('\n')}`,
    });
  sections.push({ kind: 'context', items: [`Review ${d.reviewId}`] });
  return {
    title: `Blind review closed: ${d.contenders.map((c) => c.label).join(' vs ')}`,
    summary: `Blind review ${d.reviewId} closed. ${d.verdict.text}`,
    sections,
  };
}

/** The leaderboard pooled over closed reviews, one row per contender (`<suite> · <target>`). */
export function leaderboardMessage(
  table: RatingsTable,
  reviews: number,
  pooling: { sameContender?: number } = {},
): Message {
  if (reviews === 0)
    return {
      title: 'Leaderboard',
      summary: 'No closed reviews yet.',
      sections: [{ kind: 'text', text: 'No closed reviews yet: open one with `review <runA> <runB>`.' }],
    };
  const same = pooling.sameContender ?? 0;
  const notes = [
    `${table.votes.total} votes from ${reviews} closed review${reviews === 1 ? '' : 's'}; contenders are suite · target labels, each pooled over all its runs.`,
    `Ranks tie when contenders cannot be told apart (95% intervals overlap); a contender with fewer than ${table.settings.minVotes} votes gets no rank and no interval; "both bad" counts as a tie (BB column).`,
  ];
  if (same > 0)
    notes.push(
      `${same} vote${same === 1 ? '' : 's'} between two runs of the same contender ${same === 1 ? 'is' : 'are'} not counted here.`,
    );
  if (table.components > 1)
    notes.push(`${table.components} groups never met each other: ratings across groups are not comparable.`);
  return {
    title: 'Leaderboard',
    summary: `Leaderboard of ${table.contenders.length} rated contenders`,
    sections: [
      { kind: 'code', text: ratingsRows(table) },
      { kind: 'context', items: notes },
    ],
  };
}

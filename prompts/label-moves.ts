// What one batch of prompt-version events (collected over a short settle window) changed: versions created or
// deleted and labels moved. Pure: it takes the label state Arbiter knew before the batch and returns the summary
// plus the state after, which the caller stores. Langfuse labels are unique per prompt, which is what lets two
// "updated" events (one gaining, one losing) collapse into one "production: v3 → v4".

/** One prompt-version event, reduced to what the summary needs. */
export interface VersionEvent {
  eventId: string;
  action: 'created' | 'updated' | 'deleted';
  version: number;
  labels: string[];
  tags: string[];
  /** Event timestamp (ISO), used to order events of one version. */
  timestamp: string;
  user: string;
  commitMessage?: string | null | undefined;
}

/** A label that changed holder. `from`/`to` undefined: newly set / removed. */
export interface LabelMove {
  label: string;
  from?: number;
  to?: number;
  /** False when Arbiter had never seen the earlier labels of `to`, so it may have held the label already. */
  certain: boolean;
}

/** The summary of one batch. */
export interface PromptChange {
  name: string;
  actions: VersionEvent['action'][];
  created: number[];
  updated: number[];
  deleted: number[];
  moves: LabelMove[];
  /** Labels of every version in the batch after it (deleted versions excluded). */
  labelsAfter: { version: number; labels: string[] }[];
  users: string[];
  commitMessage?: string;
  /** The version the alert is about (newest created, else the new holder of a moved label, else the newest). */
  focus: number;
  /** The version to diff against, and why. */
  baseline?: { version: number; reason: 'previous-version' | 'label-holder' };
  /** Label state to store for versions touched (null: version deleted). */
  stateAfter: { version: number; labels: string[] | null }[];
}

const PRIORITY_LABELS = ['production', 'latest'];

/** Summarizes a batch against the labels Arbiter knew before it (version → labels). */
export function summarizeChange(
  name: string,
  events: readonly VersionEvent[],
  known: ReadonlyMap<number, readonly string[]>,
): PromptChange {
  const ordered = [...events].sort(
    (a, b) => a.timestamp.localeCompare(b.timestamp) || a.eventId.localeCompare(b.eventId),
  );
  const latest = new Map<number, VersionEvent>();
  for (const e of ordered) latest.set(e.version, e);
  const created = uniq(ordered.filter((e) => e.action === 'created').map((e) => e.version));
  const deleted = [...latest.values()]
    .filter((e) => e.action === 'deleted')
    .map((e) => e.version)
    .sort((a, b) => a - b);
  const updated = uniq(ordered.filter((e) => e.action === 'updated').map((e) => e.version)).filter(
    (v) => !created.includes(v),
  );

  // Before: what we knew; a version created in this batch had no labels before it existed.
  const before = new Map<number, readonly string[]>(known);
  for (const v of created) if (!before.has(v)) before.set(v, []);
  const after = new Map<number, string[]>([...before].map(([v, l]) => [v, [...l]]));
  for (const [v, e] of latest) {
    if (e.action === 'deleted') after.delete(v);
    else after.set(v, [...e.labels]);
  }
  // A label has one holder: a version gaining it takes it from any other version, even one with no event here.
  for (const [v, e] of latest) {
    if (e.action === 'deleted') continue;
    for (const label of e.labels) {
      for (const [u, labels] of after) {
        if (u !== v && !latest.has(u) && labels.includes(label))
          after.set(
            u,
            labels.filter((l) => l !== label),
          );
      }
    }
  }

  const holder = (state: ReadonlyMap<number, readonly string[]>, label: string) => {
    for (const [v, labels] of state) if (labels.includes(label)) return v;
    return undefined;
  };
  const labels = new Set<string>();
  for (const v of latest.keys()) {
    for (const l of before.get(v) ?? []) labels.add(l);
    for (const l of after.get(v) ?? []) labels.add(l);
  }
  const moves: LabelMove[] = [];
  for (const label of [...labels].sort(byPriority)) {
    let from = holder(before, label);
    const to = holder(after, label);
    if (from === to) continue;
    const certain = to === undefined || before.has(to);
    if (from === undefined) {
      // Nobody we know held it: if exactly one other version in the batch lost something we could not see, it is the source.
      const candidates = [...latest.values()].filter(
        (e) =>
          e.version !== to && e.action !== 'created' && !before.has(e.version) && !e.labels.includes(label),
      );
      if (candidates.length === 1) from = candidates[0]!.version;
    }
    if (from === undefined && !certain) {
      // Unknown earlier labels and no candidate source: it may simply have been there all along; say nothing.
      if (!created.includes(to!)) {
        moves.push({ label, to: to!, certain: false });
        continue;
      }
    }
    moves.push({
      label,
      ...(from === undefined ? {} : { from }),
      ...(to === undefined ? {} : { to }),
      certain,
    });
  }

  const newestCreated = created.length > 0 ? Math.max(...created) : undefined;
  const mainMove = moves.find((m) => m.to !== undefined);
  const focus = newestCreated ?? mainMove?.to ?? Math.max(...latest.keys());
  let baseline: PromptChange['baseline'];
  if (newestCreated !== undefined) {
    if (newestCreated > 1) baseline = { version: newestCreated - 1, reason: 'previous-version' };
  } else if (mainMove?.to !== undefined && mainMove.from !== undefined) {
    baseline = { version: mainMove.from, reason: 'label-holder' };
  }

  const touched = new Set<number>([
    ...latest.keys(),
    ...[...after.keys()].filter((v) => !same(after.get(v), before.get(v))),
  ]);
  const stateAfter = [...touched]
    .sort((a, b) => a - b)
    .map((version) => ({ version, labels: after.has(version) ? after.get(version)! : null }));
  const commit = [...ordered].reverse().find((e) => e.action === 'created' && e.commitMessage)?.commitMessage;
  return {
    name,
    actions: uniq(ordered.map((e) => e.action)),
    created,
    updated,
    deleted,
    moves,
    labelsAfter: [...latest.keys()]
      .filter((v) => after.has(v))
      .sort((a, b) => a - b)
      .map((version) => ({ version, labels: after.get(version)! })),
    users: uniq(ordered.map((e) => e.user)),
    ...(commit ? { commitMessage: commit } : {}),
    focus,
    ...(baseline ? { baseline } : {}),
    stateAfter,
  };
}

/** One line per move, e.g. `production: v3 → v4`. */
export function describeMove(m: LabelMove): string {
  if (m.to !== undefined && m.from !== undefined) return `${m.label}: v${m.from} → v${m.to}`;
  if (m.to !== undefined)
    return m.certain
      ? `${m.label}: set on v${m.to}`
      : `${m.label}: now on v${m.to} (earlier labels of v${m.to} not known to Arbiter)`;
  return `${m.label}: removed from v${m.from}`;
}

function byPriority(a: string, b: string): number {
  const pa = PRIORITY_LABELS.indexOf(a);
  const pb = PRIORITY_LABELS.indexOf(b);
  return (pa < 0 ? 99 : pa) - (pb < 0 ? 99 : pb) || a.localeCompare(b);
}

function uniq<T>(xs: readonly T[]): T[] {
  return [...new Set(xs)];
}

function same(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (!a || !b) return a === b;
  return a.length === b.length && [...a].sort().join('\u0000') === [...b].sort().join('\u0000');
}

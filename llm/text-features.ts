// Lexical features for the offline heuristic: tokens, overlap, coverage, length and format checks.
// Pure functions: same text in, same numbers out.

const STOPWORDS = new Set(
  `a about above after again against all am an and any are as at be because been before being below between both but by
  can could did do does doing down during each few for from further had has have having he her here hers herself him
  himself his how i if in into is it its itself just me more most my myself no nor not now of off on once only or other
  our ours ourselves out over own same she should so some such than that the their theirs them themselves then there
  these they this those through to too under until up very was we were what when where which while who whom why will
  with would you your yours yourself yourselves also may might must shall us let get got one two within without per via`
    .split(/\s+/)
    .filter(Boolean),
);

// Words every rubric uses about itself; they say nothing about what a good output contains.
const RUBRIC_META = new Set(
  `answer answers response responses output outputs reply question questions user assistant model score scores rate rating
  judge evaluate evaluation criteria criterion step steps scale point points good bad better best worse worst well
  correct correctly incorrect accurate accurately accuracy relevant relevance helpful helpfulness quality clear clearly
  fully partially complete completely whether check consider give given provide provides provided contain contains
  include includes including mention mentions mentioned address addresses addressed explain explains explained appropriate
  appropriately overall each every`
    .split(/\s+/)
    .filter(Boolean)
    .map(stem),
);

/** Light suffix stripping so "refunds"/"refunded"/"refund" meet; deliberately crude and predictable. */
export function stem(word: string): string {
  let w = word.toLowerCase().replace(/'s$/, '');
  if (w.length > 4 && w.endsWith('ies')) w = `${w.slice(0, -3)}y`;
  else if (w.length > 5 && w.endsWith('ing')) w = w.slice(0, -3);
  else if (w.length > 4 && w.endsWith('ed')) w = w.slice(0, -2);
  else if (w.length > 4 && w.endsWith('es') && /(?:ss|x|ch|sh)es$/.test(w)) w = w.slice(0, -2);
  else if (w.length > 3 && w.endsWith('s') && !w.endsWith('ss')) w = w.slice(0, -1);
  return w;
}

/** Every word of a text, lower-cased (letters and digits in any script). */
export function words(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+(?:'[\p{L}]+)?/gu) ?? [];
}

/** Content words: stopwords removed, stemmed. */
export function contentTokens(text: string): string[] {
  return words(text)
    .filter((w) => !STOPWORDS.has(w) && (w.length > 1 || /\d/.test(w)))
    .map(stem);
}

/** Content words of a rubric, without the words rubrics use about themselves. */
export function rubricKeywords(text: string): string[] {
  return [...new Set(contentTokens(text).filter((w) => !RUBRIC_META.has(w) && w.length > 2))];
}

/** Terms a rubric quotes ("refund", 'SLA', `/healthz`): the output must contain them verbatim. */
export function quotedTerms(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(
    /"([^"\n]{1,60})"|“([^”\n]{1,60})”|`([^`\n]{1,60})`|(?<![\p{L}])'([^'\n]{1,60})'(?![\p{L}])/gu,
  )) {
    const term = (m[1] ?? m[2] ?? m[3] ?? m[4] ?? '').trim();
    if (term) out.push(term.toLowerCase());
  }
  return [...new Set(out)];
}

/** Set-based precision, recall and F1 of candidate tokens against reference tokens. */
export function overlap(
  candidate: readonly string[],
  reference: readonly string[],
): { precision: number; recall: number; f1: number } {
  const c = new Set(candidate);
  const r = new Set(reference);
  if (c.size === 0 || r.size === 0) return { precision: 0, recall: 0, f1: 0 };
  let common = 0;
  for (const t of c) if (r.has(t)) common += 1;
  const precision = common / c.size;
  const recall = common / r.size;
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { precision, recall, f1 };
}

/** Fraction of `keywords` present in `tokens` (1 when there are no keywords). */
export function coverage(keywords: readonly string[], tokens: readonly string[]): number {
  if (keywords.length === 0) return 1;
  const have = new Set(tokens);
  return keywords.filter((k) => have.has(k)).length / keywords.length;
}

// Text addressed to whoever grades the output. The heuristic never obeys it; it only notes and penalises it.
const GRADER_ADDRESSED = [
  /\b(?:ignore|disregard|forget)\b[^.\n]{0,40}\b(?:instructions?|prompts?|rules|rubric|criteria)\b/i,
  /\b(?:give|assign|award|rate|score|grade|mark)\b[^.\n]{0,40}\b(?:\d+\s*(?:\/|out of)\s*\d+|full marks|perfect score|highest score|top score|maximum score|a score of)\b/i,
  /\b(?:you are|act as|as) (?:now )?(?:the|a|an) (?:judge|grader|evaluator|assessor)\b/i,
  /\b(?:system prompt|new instructions?|developer message)\s*:/i,
  /<\/?(?:task|criteria|steps|scale|output|reference|answer_a|answer_b)>/i,
];

/** True when the text contains instructions aimed at a grader (prompt injection). */
export function addressesGrader(text: string): boolean {
  return GRADER_ADDRESSED.some((re) => re.test(text));
}

/** True when the text is (or contains in a fence) a JSON object or array. */
export function looksLikeJson(text: string): boolean {
  const t = text.trim().replace(/^```(?:json)?\s*|\s*```$/g, '');
  if (!/^[[{]/.test(t)) return false;
  try {
    JSON.parse(t);
    return true;
  } catch {
    return false;
  }
}

/** True when the text has at least two list items (bullets or numbers at line starts). */
export function hasList(text: string): boolean {
  return (text.match(/^\s*(?:[-*•]|\d+[.)])\s+\S/gm) ?? []).length >= 2;
}

/** Most frequent content words (ties broken alphabetically, so the order is stable). */
export function topKeywords(text: string, n: number): string[] {
  const counts = new Map<string, number>();
  for (const w of words(text)) {
    if (STOPWORDS.has(w) || w.length < 3 || /^\d+$/.test(w)) continue;
    counts.set(w, (counts.get(w) ?? 0) + 1);
  }
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, n)
    .map(([w]) => w);
}

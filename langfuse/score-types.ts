// How a score is typed in Langfuse (`dataType` of POST /api/public/scores:
// https://api.reference.langfuse.com/#tag/score/POST/api/public/scores), shared by runs and monitors.

/**
 * How a score is typed in Langfuse: a pass/fail check (label pass|fail, value 0 or 1) is BOOLEAN, a pairwise outcome
 * (win|loss|tie) CATEGORICAL with the outcome as its value, anything else NUMERIC in [0, 1].
 */
export function langfuseScoreValue(s: { value: number; label?: string | undefined }): {
  dataType: 'BOOLEAN' | 'CATEGORICAL' | 'NUMERIC';
  value: number | string;
} {
  if ((s.label === 'pass' || s.label === 'fail') && (s.value === 0 || s.value === 1))
    return { dataType: 'BOOLEAN', value: s.value };
  if (s.label === 'win' || s.label === 'loss' || s.label === 'tie')
    return { dataType: 'CATEGORICAL', value: s.label };
  return { dataType: 'NUMERIC', value: s.value };
}

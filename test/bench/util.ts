// Helpers shared by benchmarks: medians, percentiles, memory.

/** Median of a list of numbers. */
export function median(xs: readonly number[]): number {
  return percentile(xs, 50);
}

/** The p-th percentile (nearest rank) of a list of numbers. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

/** Peak resident set size of this process so far, in MiB. */
export function peakRssMiB(): number {
  return Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10;
}

/** Prints a benchmark's figures as aligned `name: value` lines. */
export function report(
  title: string,
  figures: Record<string, number | string>,
): Record<string, number | string> {
  process.stdout.write(`\n== ${title}\n`);
  for (const [k, v] of Object.entries(figures))
    process.stdout.write(`  ${k.padEnd(44)} ${typeof v === 'number' ? Number(v.toFixed(3)) : v}\n`);
  return figures;
}

/** True when the module is run directly (`node --import tsx test/bench/x.bench.ts`). */
export function isMain(url: string): boolean {
  return (
    process.argv[1] !== undefined &&
    url.endsWith(process.argv[1].replace(/^.*\/test\/bench\//, '/test/bench/'))
  );
}

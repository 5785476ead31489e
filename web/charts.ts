// Charts of the report pages, drawn with ECharts (the library the digests use) on the server as SVG and embedded as
// `<img src="data:image/svg+xml;base64,…">`: no script, no request and no inline style in the page (the strict CSP
// holds), an SVG shown as an image can run nothing, and it scales to a phone's width. ECharts escapes the text it
// writes into the SVG (names are user content); the base64 wrapping keeps the page's escaping out of it.
import { escapeHtml, Html } from './html.ts';

type EchartsModule = typeof import('echarts');
let echartsLib: Promise<EchartsModule> | undefined;
const loadEcharts = () => {
  echartsLib ??= import('echarts');
  return echartsLib;
};

const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#4b5563'];
const TEXT = { fontFamily: 'sans-serif', fontSize: 12, color: '#374151' };

async function svgOf(option: Record<string, unknown>, width: number, height: number): Promise<string> {
  const echarts = await loadEcharts();
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width, height });
  try {
    chart.setOption({
      animation: false,
      backgroundColor: '#ffffff',
      color: PALETTE,
      textStyle: TEXT,
      ...option,
    });
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}

/** An `<img>` of an SVG chart with its alternative text (escaped once). */
export function chartImage(svg: string, alt: string, cls = 'chart'): Html {
  const src = `data:image/svg+xml;base64,${Buffer.from(svg, 'utf8').toString('base64')}`;
  return new Html(`<img class="${cls}" alt="${escapeHtml(alt)}" src="${src}">`);
}

/** Bins of a score distribution (ten bins over [0, 1]; 1 falls in the last). */
export function histogram(values: readonly number[], bins = 10): number[] {
  const counts = new Array<number>(bins).fill(0);
  for (const v of values) counts[Math.min(bins - 1, Math.max(0, Math.floor(v * bins)))]! += 1;
  return counts;
}

/** A metric's score distribution as a bar chart (counts per tenth). */
export async function distributionChart(metric: string, values: readonly number[]): Promise<Html> {
  const counts = histogram(values);
  const labels = counts.map((_, i) => `${(i / 10).toFixed(1)}–${((i + 1) / 10).toFixed(1)}`);
  const svg = await svgOf(
    {
      title: { text: metric, left: 8, top: 4, textStyle: { ...TEXT, fontSize: 14, fontWeight: 600 } },
      grid: { left: 44, right: 12, top: 36, bottom: 36 },
      xAxis: { type: 'category', data: labels, axisLabel: { ...TEXT, fontSize: 10, hideOverlap: true } },
      yAxis: { type: 'value', minInterval: 1, axisLabel: TEXT },
      series: [{ type: 'bar', data: counts, barCategoryGap: '10%' }],
    },
    480,
    220,
  );
  return chartImage(
    svg,
    `Distribution of ${metric} over ${values.length} scored items: ${counts.map((c, i) => `${labels[i]}: ${c}`).join(', ')}`,
  );
}

/** Ratings with their intervals: a box from the lower to the upper bound, the line at the rating. */
export async function ratingsChart(
  rows: readonly { name: string; rating: number; lower?: number | undefined; upper?: number | undefined }[],
): Promise<Html> {
  const names = rows.map((r) => r.name);
  const data = rows.map((r) => {
    const lo = r.lower ?? r.rating;
    const hi = r.upper ?? r.rating;
    return [lo, lo, r.rating, hi, hi];
  });
  const svg = await svgOf(
    {
      grid: { left: 140, right: 24, top: 16, bottom: 32 },
      yAxis: {
        type: 'category',
        data: names,
        inverse: true,
        axisLabel: { ...TEXT, width: 130, overflow: 'truncate' },
      },
      xAxis: {
        type: 'value',
        scale: true,
        axisLabel: TEXT,
        name: 'rating',
        nameLocation: 'middle',
        nameGap: 22,
      },
      series: [{ type: 'boxplot', data, itemStyle: { color: '#dbeafe', borderColor: '#2563eb' } }],
    },
    640,
    Math.max(120, 48 + rows.length * 36),
  );
  return chartImage(
    svg,
    `Ratings with intervals: ${rows
      .map(
        (r) =>
          `${r.name} ${r.rating.toFixed(0)}${r.lower !== undefined && r.upper !== undefined ? ` [${r.lower.toFixed(0)}, ${r.upper.toFixed(0)}]` : ''}`,
      )
      .join('; ')}`,
  );
}

/** Score trend over time, one line per metric. */
export async function trendChart(
  times: readonly Date[],
  series: readonly { name: string; values: readonly (number | null)[] }[],
): Promise<Html> {
  const label = (t: Date) => t.toISOString().slice(5, 16).replace('T', ' ');
  const svg = await svgOf(
    {
      legend: { top: 4, textStyle: TEXT, data: series.map((s) => s.name) },
      grid: { left: 44, right: 16, top: 40, bottom: 40 },
      xAxis: {
        type: 'category',
        boundaryGap: false,
        data: times.map(label),
        axisLabel: { ...TEXT, fontSize: 10, hideOverlap: true },
      },
      yAxis: { type: 'value', min: 0, max: 1, interval: 0.25, axisLabel: TEXT },
      series: series.map((s) => ({
        name: s.name,
        type: 'line',
        connectNulls: true,
        showSymbol: times.length <= 48,
        data: s.values.map((v) => (v === null ? null : Math.round(v * 1000) / 1000)),
      })),
    },
    720,
    300,
  );
  return chartImage(
    svg,
    `Mean score per tick of ${series.map((s) => s.name).join(', ')} from ${times[0] ? label(times[0]) : '—'} to ${times.at(-1) ? label(times.at(-1)!) : '—'}`,
  );
}

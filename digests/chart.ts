// The digest chart: per-monitor score trend over the period as a PNG. ECharts renders an SVG on the server (no
// DOM, no canvas), resvg rasterizes it with a font shipped in an npm package, so no system font is needed. Both
// libraries are heavy and loaded on first use only.
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';

/** One line of the chart: a monitor's mean score per time bucket (null where nothing was scored). */
export interface ChartSeries {
  name: string;
  points: { t: Date; value: number | null }[];
}

/** What the chart shows. */
export interface TrendChart {
  title: string;
  /** IANA timezone of the axis labels. */
  timezone: string;
  /** Buckets of the x axis (the same for every series). */
  buckets: Date[];
  series: ChartSeries[];
}

/** Chart size in pixels. */
export const CHART_SIZE = { width: 1000, height: 480 } as const;

const FONT_FAMILY = 'Inter';
const require = createRequire(import.meta.url);

/** The bundled TrueType fonts (regular, semi-bold) resvg draws text with. */
export function chartFontFiles(): string[] {
  return [
    require.resolve('@expo-google-fonts/inter/400Regular/Inter_400Regular.ttf'),
    require.resolve('@expo-google-fonts/inter/600SemiBold/Inter_600SemiBold.ttf'),
  ];
}

// A fixed palette so a monitor keeps its colour from one digest to the next (by position).
const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#4b5563'];

function axisLabel(t: Date, timezone: string, withDay: boolean): string {
  const opts: Intl.DateTimeFormatOptions = withDay
    ? { timeZone: timezone, weekday: 'short', day: 'numeric', hour: '2-digit', hourCycle: 'h23' }
    : { timeZone: timezone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' };
  return new Intl.DateTimeFormat('en-GB', opts).format(t);
}

/** The ECharts option of a trend chart (pure; exported for tests). */
export function chartOption(chart: TrendChart): Record<string, unknown> {
  const span = chart.buckets.length > 1 ? chart.buckets.at(-1)!.getTime() - chart.buckets[0]!.getTime() : 0;
  const withDay = span > 86_400_000;
  return {
    animation: false,
    backgroundColor: '#ffffff',
    color: PALETTE,
    textStyle: { fontFamily: FONT_FAMILY },
    title: {
      text: chart.title,
      left: 16,
      top: 10,
      textStyle: { fontFamily: FONT_FAMILY, fontSize: 18, fontWeight: 600, color: '#111827' },
    },
    legend: {
      top: 12,
      right: 16,
      textStyle: { fontFamily: FONT_FAMILY, fontSize: 13, color: '#374151' },
      data: chart.series.map((s) => s.name),
    },
    grid: { left: 56, right: 24, top: 60, bottom: 48 },
    xAxis: {
      type: 'category',
      boundaryGap: false,
      data: chart.buckets.map((b) => axisLabel(b, chart.timezone, withDay)),
      axisLabel: { fontFamily: FONT_FAMILY, fontSize: 11, color: '#4b5563', hideOverlap: true },
    },
    yAxis: {
      type: 'value',
      min: 0,
      max: 1,
      interval: 0.25,
      name: 'mean score',
      nameTextStyle: { fontFamily: FONT_FAMILY, fontSize: 11, color: '#4b5563' },
      axisLabel: { fontFamily: FONT_FAMILY, fontSize: 11, color: '#4b5563' },
    },
    series: chart.series.map((s) => ({
      name: s.name,
      type: 'line',
      connectNulls: true,
      showSymbol: s.points.filter((p) => p.value !== null).length <= 48,
      symbolSize: 5,
      lineStyle: { width: 2 },
      data: s.points.map((p) => (p.value === null ? null : Math.round(p.value * 1000) / 1000)),
    })),
  };
}

type EchartsModule = typeof import('echarts');
type ResvgModule = typeof import('@resvg/resvg-js');
let libs: Promise<{ echarts: EchartsModule; resvg: ResvgModule }> | undefined;
function loadLibs() {
  libs ??= Promise.all([import('echarts'), import('@resvg/resvg-js')]).then(([echarts, resvg]) => ({
    echarts,
    resvg,
  }));
  return libs;
}

/** Renders the chart to an SVG string (server-side, no DOM). */
export async function renderChartSvg(chart: TrendChart): Promise<string> {
  const { echarts } = await loadLibs();
  const instance = echarts.init(null, null, { renderer: 'svg', ssr: true, ...CHART_SIZE });
  try {
    instance.setOption(chartOption(chart));
    return instance.renderToSVGString();
  } finally {
    instance.dispose();
  }
}

/** Renders the chart to PNG bytes; the same data gives the same bytes. */
export async function renderChartPng(chart: TrendChart): Promise<Buffer> {
  const svg = await renderChartSvg(chart);
  const { resvg } = await loadLibs();
  const r = new resvg.Resvg(svg, {
    background: '#ffffff',
    fitTo: { mode: 'width', value: CHART_SIZE.width },
    font: { fontFiles: chartFontFiles(), loadSystemFonts: false, defaultFontFamily: FONT_FAMILY },
  });
  return r.render().asPng();
}

/** Renders the chart and writes it to `path` (folders created); returns the path. */
export async function writeChartPng(chart: TrendChart, path: string): Promise<string> {
  const png = await renderChartPng(chart);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, png);
  return path;
}

/**
 * Charts drawn on the server: echarts' SSR renders an SVG string (no browser script), served as an
 * image, and the same numbers go into an HTML table beside it. Readable without colour: every
 * series carries a decal pattern (aria.decal) and line series a different symbol; single-series
 * bars carry their value as a direct label. echarts escapes label text, so a vendor or model name
 * a device sent stays text in the SVG. The SVG is made CSP-clean for the site's policy
 * (style-src 'self'): echarts' hover <style> block is dropped (an <img> has no hover) and its
 * style="" attributes become the equivalent presentation attributes.
 */
import * as echarts from 'echarts';
import { html, type Html } from '../html.js';
import { formatNumber } from '../i18n.js';
import type { Lang } from '../types.js';

export interface ChartSeries {
  readonly name: string;
  readonly values: readonly number[];
}

/** A chart's numbers: one value per category and series. */
export interface ChartData {
  readonly type: 'stacked-bar' | 'bar' | 'line';
  readonly categories: readonly string[];
  readonly series: readonly ChartSeries[];
  /** Values are shares (0…1), shown as percentages. */
  readonly percent?: boolean;
  /** Axis names. */
  readonly xName?: string;
  readonly yName?: string;
}

const symbols = ['circle', 'rect', 'triangle', 'diamond', 'pin', 'arrow', 'roundRect'];

/** Keep a label short in the image (the table has it whole). */
const short = (s: string, n = 24): string => (Array.from(s).length > n ? `${Array.from(s).slice(0, n - 1).join('')}…` : s);

/**
 * One SSR instance per size, reused: setOption(notMerge) replaces the whole chart each time, and
 * the instance keeps its decal patterns, which are most of a render's cost. Rendering is
 * synchronous, so no two renders share an instance at once.
 */
const instances = new Map<string, echarts.ECharts>();
function instanceOf(width: number, height: number): echarts.ECharts {
  const key = `${width}x${height}`;
  let chart = instances.get(key);
  if (!chart || chart.isDisposed()) {
    if (instances.size >= 8) for (const [k, c] of instances) (c.dispose(), instances.delete(k));
    instances.set(key, (chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width, height })));
  }
  return chart;
}

/** SVGs by their inputs: a chart whose numbers did not change after new findings is not drawn again. */
const drawn = new Map<string, string>();

/** The chart as an SVG document string. */
export function renderChartSvg(d: ChartData, o: { readonly width: number; readonly height: number; readonly lang: Lang; readonly label: string }): string {
  const key = JSON.stringify([d, o]);
  const hit = drawn.get(key);
  if (hit !== undefined) return hit;
  const svg = draw(d, o);
  if (drawn.size >= 200) drawn.clear();
  drawn.set(key, svg);
  return svg;
}

function draw(d: ChartData, o: { readonly width: number; readonly height: number; readonly lang: Lang; readonly label: string }): string {
  const chart = instanceOf(o.width, o.height);
  try {
    const single = d.series.length === 1;
    const fmt = (v: number) => (d.percent ? `${Math.round(v * 1000) / 10}%` : formatNumber(o.lang, v));
    chart.setOption(
      {
        animation: false,
        aria: { enabled: true, label: { description: o.label }, decal: { show: true } },
        textStyle: { fontFamily: 'sans-serif' },
        grid: { left: 64, right: 24, top: single ? 28 : 56, bottom: 56, containLabel: false },
        legend: single ? { show: false } : { top: 4, type: 'plain', data: d.series.map((s) => short(s.name)) },
        xAxis: { type: 'category', data: d.categories.map((c) => short(c, 16)), name: d.xName, nameLocation: 'middle', nameGap: 36, axisLabel: { interval: 'auto', hideOverlap: true } },
        yAxis: { type: 'value', name: d.yName, axisLabel: { formatter: (v: number) => fmt(v) }, ...(d.percent ? { max: 1 } : {}) },
        series: d.series.map((s, i) => ({
          name: short(s.name),
          type: d.type === 'line' ? 'line' : 'bar',
          stack: d.type === 'stacked-bar' ? 'all' : undefined,
          data: [...s.values],
          symbol: symbols[i % symbols.length],
          symbolSize: 8,
          label: { show: single || d.type === 'line' ? d.categories.length <= 24 : false, position: 'top', fontSize: 11, formatter: (p: { value: number }) => fmt(p.value) },
        })),
      },
      { notMerge: true },
    );
    return cspClean(chart.renderToSVGString());
  } catch (error) {
    // A failed render may leave the instance half set up: start the next one afresh.
    chart.dispose();
    throw error;
  }
}

/** Drop <style> blocks and turn style="a:b;c:d" into a="b" c="d" (see the module comment). */
export function cspClean(svg: string): string {
  return svg
    .replace(/<style[^>]*>[\s\S]*?<\/style>/g, '')
    .replace(/ style="([^"]*)"/g, (_all, decl: string) =>
      decl
        .split(';')
        .map((d) => d.trim())
        .filter((d) => /^[a-z-]+:[^"<>]+$/.test(d))
        .map((d) => {
          const i = d.indexOf(':');
          return ` ${d.slice(0, i).trim()}="${d.slice(i + 1).trim()}"`;
        })
        .join(''),
    );
}

/** The same numbers as an accessible table (escaped: category and series names may be device text). */
export function chartTable(d: ChartData, o: { readonly lang: Lang; readonly caption: string; readonly corner: string; readonly id: string }): Html {
  const fmt = (v: number) => (d.percent ? `${Math.round(v * 1000) / 10}%` : formatNumber(o.lang, v));
  return html`<table class="chart-table" id="${o.id}">
<caption>${o.caption}</caption>
<thead><tr><th scope="col">${o.corner}</th>${d.series.map((s) => html`<th scope="col">${s.name}</th>`)}</tr></thead>
<tbody>
${d.categories.map((c, i) => html`<tr><th scope="row">${c}</th>${d.series.map((s) => html`<td class="num">${fmt(s.values[i] ?? 0)}</td>`)}</tr>`)}
</tbody>
</table>`;
}

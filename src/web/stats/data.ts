/**
 * The statistics charts as data: each named chart reads the rollup (src/store/web-stats.ts) and
 * returns its numbers, title and alt text. `public` charts are aggregates with nothing per host
 * or per ISP, and are served on the public site too.
 */
import { findingKinds } from '../../core/records.js';
import { loadCatalogue, type Catalogue } from '../../identify/catalogue.js';
import type { WebStats } from '../../store/web-stats.js';
import { translate, type Messages } from '../i18n.js';
import type { Lang } from '../types.js';
import type { ChartData } from './charts.js';
import { kindName, typeName } from './labels.js';

export const chartMessages = {
  'monthly-kind': { ja: '月別の検出件数(種類別)', en: 'Findings per month, by kind' },
  'monthly-protocol': { ja: '月別の検出件数(プロトコル別)', en: 'Findings per month, by protocol' },
  'device-type': { ja: '機器の種類別の検出件数', en: 'Findings by device type' },
  'release-year': { ja: '機器の発売年別の検出件数', en: 'Findings by the model’s release year' },
  isp: { ja: 'ISP別の検出件数', en: 'Findings per ISP' },
  remediation: { ja: '対策の進み具合(基準月の検出がその後も残る割合)', en: 'Remediation: share of the baseline month’s findings still found later' },
  month: { ja: '月', en: 'Month' },
  count: { ja: '件数', en: 'Findings' },
  share: { ja: '残存率', en: 'Still found' },
  year: { ja: '発売年', en: 'Release year' },
  unknownYear: { ja: '不明', en: 'Unknown' },
  held: { ja: '保留(通知先なし)', en: 'Held (no ISP to notify)' },
  other: { ja: 'その他', en: 'Other' },
  type: { ja: '機器の種類', en: 'Device type' },
  protocol: { ja: 'プロトコル', en: 'Protocol' },
  ispName: { ja: 'ISP', en: 'ISP' },
  altMonthly: { ja: '{from}から{to}までの月別件数。同じ数値を下の表に示します。', en: 'Monthly counts from {from} to {to}; the table below gives the same numbers.' },
  altBars: { ja: '{n}項目の件数。同じ数値を下の表に示します。', en: 'Counts of {n} groups; the table below gives the same numbers.' },
  altRemediation: { ja: '基準月{baseline}の{size}件のうち、各月に再び見つかった割合。同じ数値を下の表に示します。', en: 'Of the {size} findings of the baseline month {baseline}, the share found again each month; the table below gives the same numbers.' },
} as const satisfies Messages;

export interface ChartSpec {
  readonly public: boolean;
  build(stats: WebStats, lang: Lang): Promise<{ title: string; alt: string; data: ChartData }>;
}

/** Months shown on the monthly charts (the latest ones). */
export const chartMonths = 24;
/** At most this many series or bars; the rest are summed as "other". */
const maxGroups = 8;

let catalogue: Catalogue | undefined;
function catalogueOnce(): Catalogue {
  if (!catalogue) {
    try {
      catalogue = loadCatalogue();
    } catch {
      catalogue = { entries: [], lookup: () => null };
    }
  }
  return catalogue;
}

/** Pivot rollup rows into categories × series, the largest series kept, the rest summed as `other`. */
function pivot(rows: readonly { cat: string; series: string; n: number }[], categories: readonly string[], otherName: string, order?: readonly string[]): { name: string; values: number[] }[] {
  const totals = new Map<string, number>();
  for (const r of rows) totals.set(r.series, (totals.get(r.series) ?? 0) + r.n);
  let names = order ? order.filter((s) => totals.has(s)) : [...totals.keys()].sort((a, b) => totals.get(b)! - totals.get(a)! || a.localeCompare(b));
  const rest = names.slice(maxGroups - 1);
  if (rest.length > 1) names = names.slice(0, maxGroups - 1);
  const restSet = new Set(rest.length > 1 ? rest : []);
  const index = new Map(categories.map((c, i) => [c, i]));
  const out = new Map<string, number[]>();
  for (const n of [...names, ...(restSet.size ? [otherName] : [])]) out.set(n, new Array<number>(categories.length).fill(0));
  for (const r of rows) {
    const i = index.get(r.cat);
    if (i === undefined) continue;
    const key = restSet.has(r.series) ? otherName : r.series;
    const v = out.get(key);
    if (v) v[i]! += r.n;
  }
  return [...out].map(([name, values]) => ({ name, values }));
}

async function lastMonths(stats: WebStats): Promise<string[]> {
  const months = (await stats.rollup(['month'])).map((r) => r.month!).filter((m) => m !== '');
  return months.slice(-chartMonths);
}

function bars(rows: readonly { label: string; n: number }[], otherName: string): { categories: string[]; values: number[] } {
  const sorted = [...rows].sort((a, b) => b.n - a.n || a.label.localeCompare(b.label));
  const head = sorted.slice(0, maxGroups * 2 - 1);
  const tail = sorted.slice(maxGroups * 2 - 1);
  if (tail.length) head.push({ label: otherName, n: tail.reduce((s, r) => s + r.n, 0) });
  return { categories: head.map((r) => r.label), values: head.map((r) => r.n) };
}

export const charts: Readonly<Record<string, ChartSpec>> = {
  'monthly-kind': {
    public: true,
    async build(stats, lang) {
      const t = translate(chartMessages, lang);
      const months = await lastMonths(stats);
      const rows = (await stats.rollup(['month', 'kind'])).map((r) => ({ cat: r.month!, series: kindName(lang, r.kind!), n: r.n }));
      const series = pivot(rows, months, t('other'), findingKinds.map((k) => kindName(lang, k)));
      return { title: t('monthly-kind'), alt: t('altMonthly', { from: months[0] ?? '-', to: months.at(-1) ?? '-' }), data: { type: 'stacked-bar', categories: months, series, xName: t('month'), yName: t('count') } };
    },
  },
  'monthly-protocol': {
    public: true,
    async build(stats, lang) {
      const t = translate(chartMessages, lang);
      const months = await lastMonths(stats);
      const rows = (await stats.rollup(['month', 'protocol'])).filter((r) => r.protocol !== '').map((r) => ({ cat: r.month!, series: r.protocol!, n: r.n }));
      const series = pivot(rows, months, t('other'));
      return { title: t('monthly-protocol'), alt: t('altMonthly', { from: months[0] ?? '-', to: months.at(-1) ?? '-' }), data: { type: 'stacked-bar', categories: months, series, xName: t('month'), yName: t('count') } };
    },
  },
  'device-type': {
    public: true,
    async build(stats, lang) {
      const t = translate(chartMessages, lang);
      const b = bars((await stats.rollup(['device_type'])).map((r) => ({ label: typeName(lang, r.device_type ?? ''), n: r.n })), t('other'));
      return { title: t('device-type'), alt: t('altBars', { n: b.categories.length }), data: { type: 'bar', categories: b.categories, series: [{ name: t('count'), values: b.values }], xName: t('type'), yName: t('count') } };
    },
  },
  'release-year': {
    public: false,
    async build(stats, lang) {
      const t = translate(chartMessages, lang);
      const cat = catalogueOnce();
      const years = new Map<string, number>();
      for (const r of await stats.rollup(['vendor', 'model'])) {
        const y = cat.lookup(r.vendor || null, r.model || null)?.releaseYear ?? null;
        const key = y === null ? '' : String(y);
        years.set(key, (years.get(key) ?? 0) + r.n);
      }
      const known = [...years.keys()].filter((k) => k !== '').sort();
      const categories = [...known, ...(years.has('') ? [t('unknownYear')] : [])];
      const values = [...known.map((k) => years.get(k)!), ...(years.has('') ? [years.get('')!] : [])];
      return { title: t('release-year'), alt: t('altBars', { n: categories.length }), data: { type: 'bar', categories, series: [{ name: t('count'), values }], xName: t('year'), yName: t('count') } };
    },
  },
  isp: {
    public: false,
    async build(stats, lang) {
      const t = translate(chartMessages, lang);
      const rows = await stats.rollup(['isp', 'kind']);
      const totals = new Map<string, number>();
      for (const r of rows) totals.set(r.isp!, (totals.get(r.isp!) ?? 0) + r.n);
      const isps = [...totals.keys()].sort((a, b) => totals.get(b)! - totals.get(a)! || a.localeCompare(b)).slice(0, 20);
      const label = (isp: string) => (isp === '' ? t('held') : isp);
      const series = pivot(rows.map((r) => ({ cat: label(r.isp!), series: kindName(lang, r.kind!), n: r.n })), isps.map(label), t('other'), findingKinds.map((k) => kindName(lang, k)));
      return { title: t('isp'), alt: t('altBars', { n: isps.length }), data: { type: 'stacked-bar', categories: isps.map(label), series, xName: t('ispName'), yName: t('count') } };
    },
  },
  remediation: {
    public: true,
    async build(stats, lang) {
      const t = translate(chartMessages, lang);
      const r = await stats.remediation(undefined, 12);
      return {
        title: t('remediation'),
        alt: t('altRemediation', { baseline: r.baseline ?? '-', size: r.baselineSize }),
        data: { type: 'line', categories: r.points.map((p) => p.month), series: [{ name: t('share'), values: r.points.map((p) => p.share) }], percent: true, xName: t('month'), yName: t('share') },
      };
    },
  },
};

export const chartNames = Object.keys(charts);

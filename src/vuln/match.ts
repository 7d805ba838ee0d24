/**
 * Matching identified devices against CVE records.
 *
 * The index keys every CVE by the part:vendor:product of each CPE it names (NVD criteria, CVE JSON 5
 * products and their cpes), so a device looks only at the CVEs naming one of its own CPEs.
 *
 * One CVE is judged with three-valued logic (true / false / unknown):
 * - a criterion is true for the device when a device CPE of the same part, vendor and product is
 *   within it (NIST IR 7696 superset/equal per attribute) and its version is within the bounds;
 *   unknown when the device lacks the version, the versions cannot be ordered (src/vuln/version.ts),
 *   or the criterion gives no version (`-`) for a firmware or application;
 * - nodes and configurations combine with AND/OR (and negate) in Kleene logic; a criterion of a part
 *   the device has no CPE for at all (firmware not identified) is unknown in a configuration that
 *   otherwise names the device, false elsewhere;
 * - a configuration makes the device affected only through a `vulnerable: true` criterion; the
 *   `vulnerable: false` ones are platforms (the hardware a firmware criterion runs on). A hardware
 *   platform criterion without a revision (`-` or `*`) accepts any revision of the model, and a
 *   device whose revision is not identified is accepted by a revision-specific one (noted in the
 *   reason): NVD uses the hardware version for revisions, which identification rarely sees.
 * - CVE JSON 5 `affected[]` products are judged on their `versions[]` (ranges, exact versions,
 *   free text read by `readFreeTextVersion`, else unknown) and `defaultStatus`.
 * The CVE is affected when NVD or CVE 5 says so; else not-affected when one of them decided it on a
 * version bound; else unknown when one of them could not tell; else not-affected (nothing applies).
 */
import type { VulnStatus } from '../core/records.js';
import { compareAttribute, cpeAttributes, cpeKey, formatCpe, tryParseCpe, valueText, type Cpe, type CpeValue } from './cpe.js';
import type { AffectedProduct, AffectedVersion, ConfigNode, CpeCriterion, CveRecord } from './types.js';
import { compareParsed, compareVersions, parseVersion, type ParsedVersion } from './version.js';

type Tri = 'T' | 'F' | 'U';

/** What one CVE looked like for one device. */
export interface CveVerdict {
  readonly cve: string;
  readonly status: VulnStatus;
  /** The configuration node / product and the version bound that decided it. */
  readonly reason: string;
  /** Device CPEs the decision used. */
  readonly cpe: readonly string[];
  readonly record: CveRecord;
}

interface CompiledCriterion {
  readonly raw: CpeCriterion;
  readonly cpe: Cpe | undefined;
  /** part:vendor:product when all three are literals (the fast path), else null. */
  readonly key: string | null;
  /** The version bounds and the literal version, parsed once (src/vuln/version.ts). */
  readonly parsed: Readonly<Partial<Record<BoundKey | 'version', ParsedVersion | null>>>;
}
type BoundKey = 'versionStartIncluding' | 'versionStartExcluding' | 'versionEndIncluding' | 'versionEndExcluding';

function parsedOf(raw: CpeCriterion, cpe: Cpe | undefined): CompiledCriterion['parsed'] {
  const out: Partial<Record<BoundKey | 'version', ParsedVersion | null>> = {};
  for (const k of ['versionStartIncluding', 'versionStartExcluding', 'versionEndIncluding', 'versionEndExcluding'] as const) {
    const b = raw[k];
    if (b !== undefined) out[k] = parseVersion(b) ?? null;
  }
  const v = cpe ? valueText(cpe.version) : null;
  if (v !== null) out.version = parseVersion(v) ?? null;
  return out;
}

/** Order two versions given with their parses (the same rule as compareVersions). */
function order(a: string, pa: ParsedVersion | null | undefined, b: string, pb: ParsedVersion | null | undefined): -1 | 0 | 1 | undefined {
  if (a === b || a.toLowerCase() === b.toLowerCase()) return 0;
  return pa && pb ? compareParsed(pa, pb) : undefined;
}
interface CompiledConfig {
  readonly nodes: readonly { readonly node: ConfigNode; readonly criteria: readonly CompiledCriterion[] }[];
  /** Keys of its criteria; null when one has a wildcard (then always evaluated). */
  readonly keys: readonly string[] | null;
  readonly operator: 'AND' | 'OR';
  readonly negate: boolean;
}
interface CompiledCve {
  readonly record: CveRecord;
  readonly configs: readonly CompiledConfig[];
  /**
   * Configuration positions by the keys they name (only for records with many configurations: a
   * Map costs memory, and a few key lists are as quick to scan), and those with wildcard names.
   */
  readonly configsByKey: ReadonlyMap<string, readonly number[]> | null;
  readonly wildConfigs: readonly number[];
  readonly products: readonly CompiledProduct[];
}
interface CompiledProduct {
  readonly raw: AffectedProduct;
  readonly vendor: string;
  readonly product: string;
  readonly cpes: readonly Cpe[];
}

/** CVEs keyed by part:vendor:product ("*" part for CVE 5 products without cpes). */
export interface VulnIndex {
  readonly byKey: ReadonlyMap<string, readonly number[]>;
  /** CVEs naming a CPE with a wildcard vendor or product: checked for every device. */
  readonly everywhere: readonly number[];
  readonly records: readonly CveRecord[];
  /** Compiled lazily, by position in `records`. */
  readonly compiled: (CompiledCve | undefined)[];
}

/** A CVE 5 vendor/product name as a CPE-like identifier: "Huawei Technologies Co., Ltd." → "huawei". */
export function cpeLikeName(name: string, isVendor: boolean): string | null {
  let s = name.trim().toLowerCase();
  if (isVendor) s = s.replace(/[,.]?\s*(co\.?,?\s*ltd\.?|corp(oration)?\.?|inc\.?|ltd\.?|gmbh|llc|technologies|technology|systems|networks)\b\.?/g, ' ').trim();
  s = s.replace(/\s+/g, '_').replace(/[^a-z0-9_\-.]/g, '');
  if (s === '' || s === 'n_a' || s === 'na' || s === 'n/a' || s === 'na.' || s === 'unknown') return null;
  return s.length > 200 ? null : s;
}

/** Cheap key of a criterion string without a full parse (NVD names rarely escape in the first fields). */
function quickKey(s: string): string | null | undefined {
  if (s.length > 2048) return undefined;
  const head = s.split(':', 5);
  if (head.length < 5 || head[0]!.toLowerCase() !== 'cpe' || head[1] !== '2.3') return undefined;
  const [, , p, v, pr] = head as [string, string, string, string, string];
  if (s.slice(0, 8 + p.length + v.length + pr.length + 3).includes('\\')) {
    const c = tryParseCpe(s);
    return c ? cpeKey(c) : undefined;
  }
  if (/[*?]/.test(v) || /[*?]/.test(pr) || p === '*' || v === '-' || pr === '-') return null;
  return `${p.toLowerCase()}:${v.toLowerCase()}:${pr.toLowerCase()}`;
}

function productKeys(p: AffectedProduct): { keys: string[]; wildcard: boolean } {
  const keys: string[] = [];
  let wildcard = false;
  for (const c of p.cpes) {
    const k = quickKey(c);
    if (k) keys.push(k);
    else if (k === null) wildcard = true;
  }
  const v = cpeLikeName(p.vendor, true);
  const pr = cpeLikeName(p.product, false);
  if (v && pr) keys.push(`*:${v}:${pr}`);
  return { keys, wildcard };
}

/**
 * Build the index. Records are compiled (CPEs and version bounds parsed) when a device first
 * touches them, or all at once with `eager` (a long-lived index: a survey's matching then only
 * matches).
 */
export function buildIndex(records: Iterable<CveRecord>, options: { readonly eager?: boolean } = {}): VulnIndex {
  const byKey = new Map<string, number[]>();
  const everywhere: number[] = [];
  const list: CveRecord[] = [];
  for (const r of records) {
    const at = list.length;
    list.push(r);
    const keys = new Set<string>();
    let wildcard = false;
    for (const conf of r.configurations)
      for (const node of conf.nodes)
        for (const c of node.cpeMatch) {
          const k = quickKey(c.criteria);
          if (k) keys.add(k);
          else if (k === null) wildcard = true;
        }
    for (const p of r.affected) {
      const pk = productKeys(p);
      for (const k of pk.keys) keys.add(k);
      wildcard ||= pk.wildcard;
    }
    for (const k of keys) {
      const l = byKey.get(k);
      if (l) l.push(at);
      else byKey.set(k, [at]);
    }
    if (wildcard) everywhere.push(at);
  }
  const compiled = new Array<CompiledCve | undefined>(list.length);
  if (options.eager) for (let i = 0; i < list.length; i++) compiled[i] = compile(list[i]!);
  return { byKey, everywhere, records: list, compiled };
}

function compile(r: CveRecord): CompiledCve {
  const configs = compileConfigs(r);
  const configsByKey = configs.length > 4 ? new Map<string, number[]>() : null;
  const wildConfigs: number[] = [];
  configs.forEach((c, i) => {
    if (c.keys === null) wildConfigs.push(i);
    else if (configsByKey)
      for (const k of c.keys) {
        const l = configsByKey.get(k);
        if (l) l.push(i);
        else configsByKey.set(k, [i]);
      }
  });
  return {
    record: r,
    configs,
    configsByKey,
    wildConfigs,
    products: compileProducts(r),
  };
}

function compileConfigs(r: CveRecord): CompiledConfig[] {
  return r.configurations.map((conf): CompiledConfig => {
      const nodes = conf.nodes.map((node) => ({
        node,
        criteria: node.cpeMatch.map((raw): CompiledCriterion => {
          const cpe = tryParseCpe(raw.criteria);
          return { raw, cpe, key: cpe ? cpeKey(cpe) : null, parsed: parsedOf(raw, cpe) };
        }),
      }));
      const all = nodes.flatMap((n) => n.criteria);
      return { nodes, keys: all.some((c) => c.cpe && c.key === null) ? null : [...new Set(all.map((c) => c.key).filter((k): k is string => k !== null))], operator: conf.operator, negate: conf.negate };
    });
}

function compileProducts(r: CveRecord): CompiledProduct[] {
  return r.affected.map((raw) => ({
      raw,
      vendor: cpeLikeName(raw.vendor, true) ?? '',
      product: cpeLikeName(raw.product, false) ?? '',
      cpes: raw.cpes.map((c) => tryParseCpe(c)).filter((c): c is Cpe => c !== undefined),
    }));
}

/** One device CPE, parsed, with its version parsed (src/vuln/version.ts) when it has one. */
export interface DeviceName {
  readonly text: string;
  readonly cpe: Cpe;
  readonly key: string | null;
  readonly version: ParsedVersion | null;
}

/** The device as the matcher sees it: its parsed CPEs. */
export interface DeviceCpes {
  readonly names: readonly DeviceName[];
  readonly parts: ReadonlySet<string>;
  /** Keys of the names; a name with a wildcard makes `wild` true (every criterion is then tried). */
  readonly keys: ReadonlySet<string>;
  readonly wild: boolean;
}

/** Parse a device's CPE list; names that do not parse are left out (device data is untrusted). */
export function deviceCpes(cpes: readonly string[]): DeviceCpes {
  const names: DeviceName[] = [];
  const parts = new Set<string>();
  const keys = new Set<string>();
  let wild = false;
  for (const text of cpes.slice(0, 32)) {
    const cpe = tryParseCpe(text);
    if (!cpe) continue;
    const key = cpeKey(cpe);
    const vt = valueText(cpe.version);
    names.push({ text: formatCpe(cpe), cpe, key, version: vt === null ? null : (parseVersion(vt) ?? null) });
    if (key) keys.add(key);
    else wild = true;
    const p = valueText(cpe.part);
    if (p) parts.add(p);
  }
  return { names, parts, keys, wild };
}

/** The candidate CVEs (positions in index.records) for a device. */
export function candidates(index: VulnIndex, device: DeviceCpes): number[] {
  const out = new Set<number>(index.everywhere);
  for (const n of device.names) {
    if (!n.key) continue;
    for (const i of index.byKey.get(n.key) ?? []) out.add(i);
    const [, v, p] = n.key.split(':') as [string, string, string];
    for (const i of index.byKey.get(`*:${v}:${p}`) ?? []) out.add(i);
    if (n.key.startsWith('o:') && p.endsWith('_firmware')) for (const i of index.byKey.get(`*:${v}:${p.slice(0, -9)}`) ?? []) out.add(i);
  }
  return [...out].sort((a, b) => a - b);
}

interface Eval {
  readonly v: Tri;
  readonly why: string;
  /** A device CPE had the criterion's part, vendor and product. */
  readonly touched: boolean;
  /** The device has no CPE of the criterion's part at all. */
  readonly absentPart: boolean;
  /** The decision rested on a version comparison (for not-affected ranking). */
  readonly byVersion: boolean;
  readonly used: readonly string[];
}

function shown(v: CpeValue): string {
  return v.kind === 'any' ? '*' : v.kind === 'na' ? '-' : (valueText(v) ?? 'a wildcard');
}

const bounds = [
  ['versionStartIncluding', (c: number) => c >= 0, '>='],
  ['versionStartExcluding', (c: number) => c > 0, '>'],
  ['versionEndIncluding', (c: number) => c <= 0, '<='],
  ['versionEndExcluding', (c: number) => c < 0, '<'],
] as const;

/** Judge a criterion's version for one device version. */
function judgeVersion(cc: CompiledCriterion, cv: CpeValue, dv: CpeValue, dp: ParsedVersion | null, hardware: boolean): { v: Tri; why: string; byVersion: boolean } {
  const c = cc.raw;
  const hasBounds = c.versionStartIncluding !== undefined || c.versionStartExcluding !== undefined || c.versionEndIncluding !== undefined || c.versionEndExcluding !== undefined;
  const dtext = valueText(dv);
  if (hardware && !c.vulnerable) {
    // Platform hardware: NVD's version is a revision (see the module comment).
    if (cv.kind !== 'value') return { v: 'T', why: 'model matched', byVersion: false };
    if (dtext === null) return { v: 'T', why: `model matched, revision ${shown(cv)} not identified on the device`, byVersion: false };
    return dtext === valueText(cv) ? { v: 'T', why: `revision ${dtext} matched`, byVersion: false } : { v: 'F', why: `revision ${dtext} is not ${shown(cv)}`, byVersion: true };
  }
  if (cv.kind === 'any') {
    if (!hasBounds) return { v: 'T', why: 'all versions', byVersion: false };
    if (dtext === null) return { v: 'U', why: `device version ${shown(dv)} not known`, byVersion: false };
    let ok = '';
    for (const [k, test, op] of bounds) {
      const b = c[k];
      if (b === undefined) continue;
      const cmp = order(dtext, dp, b, cc.parsed[k]);
      if (cmp === undefined) return { v: 'U', why: `version ${dtext} cannot be ordered against ${k} ${b}`, byVersion: false };
      if (!test(cmp)) return { v: 'F', why: `version ${dtext} is not ${op} ${b} (${k})`, byVersion: true };
      ok = (ok === '' ? ok : ok + ' and ') + `${op} ${b} (${k})`;
    }
    return { v: 'T', why: `version ${dtext} ${ok}`, byVersion: true };
  }
  if (cv.kind === 'na') {
    if (dv.kind === 'na') return { v: 'T', why: 'version - (NA) on both', byVersion: false };
    return { v: 'U', why: `the criterion gives no version (-), so whether version ${shown(dv)} is affected cannot be told`, byVersion: false };
  }
  const ctext = valueText(cv);
  if (ctext === null) {
    const r = compareAttribute(cv, dv);
    return r === 'superset' || r === 'equal' ? { v: 'T', why: `version ${shown(dv)} within ${formatValueShort(cv)}`, byVersion: true } : r === 'disjoint' ? { v: 'F', why: `version ${shown(dv)} outside ${formatValueShort(cv)}`, byVersion: true } : { v: 'U', why: `version ${shown(dv)} vs pattern ${formatValueShort(cv)}`, byVersion: false };
  }
  if (dv.kind === 'any' || dtext === null) return { v: 'U', why: `device version ${shown(dv)} not known (criterion names ${ctext})`, byVersion: false };
  if (dv.kind === 'na') return { v: 'F', why: `criterion names version ${ctext}, device has none`, byVersion: true };
  const cmp = order(dtext, dp, ctext, cc.parsed.version);
  if (cmp === undefined) return { v: 'U', why: `version ${dtext} cannot be ordered against ${ctext}`, byVersion: false };
  return cmp === 0 ? { v: 'T', why: `version ${dtext} = ${ctext}`, byVersion: true } : { v: 'F', why: `version ${dtext} is not ${ctext}`, byVersion: true };
}

function formatValueShort(v: CpeValue): string {
  if (v.kind !== 'value') return shown(v);
  const w = (x: number | '*'): string => (x === '*' ? '*' : '?'.repeat(x));
  return w(v.lead) + v.text + w(v.trail);
}

const rest = cpeAttributes.filter((a) => a !== 'part' && a !== 'vendor' && a !== 'product' && a !== 'version');

function judgeCriterion(cc: CompiledCriterion, device: DeviceCpes): Eval {
  const c = cc.cpe;
  if (!c) return { v: 'F', why: `criterion ${cc.raw.criteria} does not parse`, touched: false, absentPart: false, byVersion: false, used: [] };
  const part = valueText(c.part);
  let best: Eval | undefined;
  for (const n of device.names) {
    const d = n.cpe;
    if (cc.key !== null && n.key !== null) {
      if (cc.key !== n.key) continue; // both literal: the key decides part, vendor and product
    } else if (compareAttribute(c.part, d.part) === 'disjoint') continue;
    const vr = compareAttribute(c.vendor, d.vendor);
    const pr = compareAttribute(c.product, d.product);
    if (!(vr === 'equal' || vr === 'superset') || !(pr === 'equal' || pr === 'superset')) continue;
    let e: Eval | undefined;
    for (const a of rest) {
      const r = compareAttribute(c[a], d[a]);
      if (r === 'disjoint') {
        e = { v: 'F', why: `${a} ${shown(d[a])} is not ${shown(c[a])}`, touched: true, absentPart: false, byVersion: true, used: [n.text] };
        break;
      }
      if (r !== 'equal' && r !== 'superset' && !(part === 'h' && !cc.raw.vulnerable)) {
        e = { v: 'U', why: `${a} ${shown(c[a])} not identified on the device`, touched: true, absentPart: false, byVersion: false, used: [n.text] };
      }
    }
    if (!e || e.v === 'U') {
      const j = judgeVersion(cc, c.version, d.version, n.version, part === 'h');
      // Built field by field: an object spread here was the matcher's hot spot.
      if (!e || j.v === 'F') e = { v: j.v, why: j.why, touched: true, absentPart: false, byVersion: j.byVersion, used: [n.text] };
    }
    if (!best || rank(e.v) > rank(best.v)) best = e;
    if (best.v === 'T') break;
  }
  if (best) return best;
  if (part !== null && !device.parts.has(part)) return absent[part] ?? noProduct;
  return noProduct;
}

// The common "not this product" outcomes, allocated once.
const noProduct: Eval = { v: 'F', why: 'no device CPE of this product', touched: false, absentPart: false, byVersion: false, used: [] };
const absent: Readonly<Record<string, Eval>> = Object.fromEntries(
  (['o', 'h', 'a'] as const).map((p) => [p, { v: 'F', why: `no ${p === 'o' ? 'firmware/OS' : p === 'h' ? 'hardware' : 'application'} CPE identified on the device`, touched: false, absentPart: true, byVersion: false, used: [] } satisfies Eval]),
);

const rank = (v: Tri): number => (v === 'T' ? 2 : v === 'U' ? 1 : 0);
const neg = (v: Tri): Tri => (v === 'T' ? 'F' : v === 'F' ? 'T' : 'U');

interface Outcome {
  /** 4 affected, 3 not affected by a version bound, 2 unknown, 1 nothing applies. */
  readonly rank: 1 | 2 | 3 | 4;
  readonly reason: string;
  readonly used: readonly string[];
}

const and3 = (a: Tri, b: Tri): Tri => (a === 'F' || b === 'F' ? 'F' : a === 'U' || b === 'U' ? 'U' : 'T');
const or3 = (a: Tri, b: Tri): Tri => (a === 'T' || b === 'T' ? 'T' : a === 'U' || b === 'U' ? 'U' : 'F');
const word = (v: Tri): string => (v === 'T' ? 'true' : v === 'F' ? 'false' : 'unknown');

function judgeNvd(cve: CompiledCve, device: DeviceCpes): Outcome {
  const outcomes: Outcome[] = [];
  // Plain loops, no closures: this is the matcher's inner loop (bench/vuln). A configuration
  // naming none of the device's products is skipped unread: only those its keys point to are read.
  let which: number[];
  if (device.wild) which = cve.configs.map((_, i) => i);
  else if (!cve.configsByKey) {
    which = [];
    for (let i = 0; i < cve.configs.length; i++) {
      const keys = cve.configs[i]!.keys;
      if (keys === null || keys.some((k) => device.keys.has(k))) which.push(i);
    }
  } else {
    which = [...cve.wildConfigs];
    for (const k of device.keys) for (const i of cve.configsByKey.get(k) ?? []) if (!which.includes(i)) which.push(i);
    if (which.length > 1) which.sort((a, b) => a - b);
  }
  for (const ci of which) {
    const conf = cve.configs[ci]!;
    const nodes = conf.nodes;
    const evals: Eval[][] = [];
    let touched = false;
    for (const { criteria } of nodes) {
      const es: Eval[] = [];
      for (const cc of criteria) {
        const e = judgeCriterion(cc, device);
        touched ||= e.touched;
        es.push(e);
      }
      evals.push(es);
    }
    if (!touched) continue;
    let confV: Tri | undefined;
    // Joined with + (a rope, no copy): join() would copy every reason of every judgement.
    let parts = '';
    let vulnerableHit = false;
    let byVersion = false;
    const used: string[] = [];
    for (let ni = 0; ni < nodes.length; ni++) {
      const { node, criteria } = nodes[ni]!;
      const es = evals[ni]!;
      // A part the device has no CPE for at all is unknown here, not false (module comment).
      const val = (e: Eval): Tri => (e.v === 'F' && e.absentPart ? 'U' : e.v);
      let pick = -1;
      let v: Tri;
      if (node.operator === 'AND') {
        for (let i = 0; i < es.length && pick < 0; i++) if (val(es[i]!) === 'F') pick = i;
        for (let i = 0; i < es.length && pick < 0; i++) if (val(es[i]!) === 'U') pick = i;
        v = pick < 0 ? 'T' : val(es[pick]!);
        if (pick < 0) pick = 0;
      } else {
        for (let i = 0; i < es.length && pick < 0; i++) if (val(es[i]!) === 'T') pick = i;
        for (let i = 0; i < es.length && pick < 0; i++) if (val(es[i]!) === 'U') pick = i;
        for (let i = 0; i < es.length && pick < 0; i++) if (es[i]!.touched) pick = i;
        if (pick < 0) pick = 0;
        v = es[pick] ? val(es[pick]!) : 'F';
      }
      if (node.negate) v = neg(v);
      const e = es[pick];
      if (e) {
        for (const u of e.used) if (!used.includes(u)) used.push(u);
        byVersion ||= e.byVersion;
        if (e.v === 'T' && criteria[pick]!.raw.vulnerable && !node.negate) vulnerableHit = true;
        parts = (parts === '' ? parts : parts + '; ') + `node ${ni}${node.negate ? ' (negated)' : ''} ${node.operator} match ${pick} ${criteria[pick]!.raw.criteria}: ${e.why} → ${word(v)}`;
      }
      confV = confV === undefined ? v : conf.operator === 'AND' ? and3(confV, v) : or3(confV, v);
    }
    let v = confV ?? 'F';
    if (conf.negate) v = neg(v);
    const reason = `NVD configuration ${ci}${conf.negate ? ' (negated)' : ''} (${conf.operator}): ${parts}`;
    outcomes.push({ rank: v === 'T' && vulnerableHit ? 4 : v === 'U' ? 2 : byVersion ? 3 : 1, reason, used });
  }
  // Kleene OR over configurations: one true makes it affected; else one unknown makes it unknown.
  return pickOutcome(outcomes) ?? { rank: 1, reason: 'no NVD configuration names the device', used: [] };
}

/** A free-text CVE 5 version read into a bound, when it follows a clear pattern. */
export type FreeTextVersion =
  | { readonly kind: 'range'; readonly from: string | null; readonly lessThan?: string; readonly lessThanOrEqual?: string }
  | { readonly kind: 'exact'; readonly version: string };

const versionToken = String.raw`v?(\d[\w.\-]*(?:\s+build\s*\d+)?)`;
const freeTextPatterns: readonly [RegExp, 'lt' | 'le'][] = [
  [new RegExp(String.raw`^(?:all\s+)?(?:versions?\s+)?(?:prior\s+to|before|earlier\s+than|below|lower\s+than|older\s+than|<)\s*(?:version\s+)?${versionToken}$`), 'lt'],
  [new RegExp(String.raw`^(?:all\s+)?(?:versions?\s+)?(?:up\s+to\s+(?:and\s+including\s+)?|through|<=|≤)\s*(?:version\s+)?${versionToken}$`), 'le'],
  [new RegExp(String.raw`^(?:version\s+)?${versionToken}\s+and\s+(?:earlier|prior|below|before|older|lower)(?:\s+versions?)?$`), 'le'],
];

/** Read "All versions prior to version 1.14 Build 20230219", "1.2.3 and earlier", "<= 2.0"; else undefined. */
export function readFreeTextVersion(text: string): FreeTextVersion | undefined {
  if (text.length > 200) return undefined;
  const s = text.trim().toLowerCase().replace(/\s+/g, ' ').replace(/[.;]$/, '');
  for (const [re, op] of freeTextPatterns) {
    const m = re.exec(s);
    if (m?.[1]) return op === 'lt' ? { kind: 'range', from: null, lessThan: m[1] } : { kind: 'range', from: null, lessThanOrEqual: m[1] };
  }
  if (/^v?\d+(\.\d+)*[a-z0-9.\-]*$/.test(s) && compareVersions(s, s) === 0 && s !== '0') return { kind: 'exact', version: s };
  return undefined;
}

function judgeVersions(p: AffectedProduct, dv: string | null): { v: Tri; why: string; byVersion: boolean } {
  const def = p.defaultStatus;
  const defTri: Tri = def === 'affected' ? 'T' : def === 'unaffected' ? 'F' : 'U';
  if (p.versions.length === 0) return { v: defTri, why: `no versions listed, defaultStatus ${def}`, byVersion: false };
  if (dv === null) return { v: 'U', why: 'device version not known', byVersion: false };
  let exact: { v: Tri; why: string } | undefined;
  let ranged: { v: Tri; why: string } | undefined;
  let unsure: string | undefined;
  const statusTri = (s: AffectedVersion['status']): Tri => (s === 'affected' ? 'T' : s === 'unaffected' ? 'F' : 'U');
  p.versions.forEach((ver, vi) => {
    let range: { from: string | null; lt?: string; le?: string } | undefined;
    let exactV: string | undefined;
    if (ver.lessThan !== undefined || ver.lessThanOrEqual !== undefined) {
      const from = ver.version === '0' || ver.version === '*' || ver.version === '' ? null : ver.version;
      range = { from, ...(ver.lessThan !== undefined ? { lt: ver.lessThan } : {}), ...(ver.lessThanOrEqual !== undefined ? { le: ver.lessThanOrEqual } : {}) };
    } else {
      const ft = readFreeTextVersion(ver.version);
      if (!ft) {
        unsure ??= `versions[${vi}] "${ver.version.slice(0, 80)}" is free text that cannot be read`;
        return;
      }
      if (ft.kind === 'exact') exactV = ft.version;
      else range = { from: ft.from, ...(ft.lessThan !== undefined ? { lt: ft.lessThan } : {}), ...(ft.lessThanOrEqual !== undefined ? { le: ft.lessThanOrEqual } : {}) };
    }
    if (exactV !== undefined) {
      const c = compareVersions(dv, exactV);
      if (c === undefined) unsure ??= `version ${dv} cannot be ordered against versions[${vi}] ${exactV}`;
      else if (c === 0) exact = { v: statusTri(ver.status), why: `version ${dv} = versions[${vi}] ${exactV} (${ver.status})` };
      return;
    }
    if (!range) return;
    const checks: [string, (n: number) => boolean, string][] = [];
    if (range.from !== null) checks.push([range.from, (n) => n >= 0, '>=']);
    if (range.lt !== undefined) checks.push([range.lt, (n) => n < 0, '<']);
    if (range.le !== undefined) checks.push([range.le, (n) => n <= 0, '<=']);
    let inside = true;
    const said: string[] = [];
    for (const [b, test, op] of checks) {
      const c = compareVersions(dv, b);
      if (c === undefined) {
        unsure ??= `version ${dv} cannot be ordered against versions[${vi}] bound ${b}`;
        return;
      }
      if (!test(c)) inside = false;
      said.push(`${op} ${b}`);
    }
    if (inside && (!ranged || ver.status === 'affected')) ranged = { v: statusTri(ver.status), why: `version ${dv} ${said.join(' and ')} (versions[${vi}], ${ver.status})` };
  });
  const hit = exact ?? ranged;
  if (hit) return { ...hit, byVersion: true };
  if (unsure) return { v: 'U', why: unsure, byVersion: false };
  return { v: defTri, why: `version ${dv} outside every listed range, defaultStatus ${def}`, byVersion: defTri === 'F' };
}

/** Kleene OR over outcomes: the first affected, else the first unknown, else the strongest not-affected. */
function pickOutcome(os: readonly Outcome[]): Outcome | undefined {
  return os.find((o) => o.rank === 4) ?? os.find((o) => o.rank === 2) ?? os.find((o) => o.rank === 3) ?? os[0];
}

function judgeCve5(cve: CompiledCve, device: DeviceCpes): Outcome {
  const outcomes: Outcome[] = [];
  cve.products.forEach((p, pi) => {
    // Device CPEs naming this product: through the given cpes, else by vendor/product name.
    const hits = device.names.filter((n) => {
      if (p.cpes.some((c) => ['part', 'vendor', 'product'].every((a) => ['equal', 'superset'].includes(compareAttribute(c[a as 'part'], n.cpe[a as 'part']))))) return true;
      const v = valueText(n.cpe.vendor);
      const pr = valueText(n.cpe.product);
      return p.vendor !== '' && p.product !== '' && v === p.vendor && (pr === p.product || pr === `${p.product}_firmware`);
    });
    if (hits.length === 0) return;
    // The firmware's version says most; the hardware's "version" is a revision.
    const ordered = [...hits].sort((a, b) => partRank(a.cpe) - partRank(b.cpe));
    const withVersion = ordered.find((n) => valueText(n.cpe.part) !== 'h' && valueText(n.cpe.version) !== null);
    const dv = withVersion ? valueText(withVersion.cpe.version) : null;
    const j = judgeVersions(p.raw, dv);
    const reason = `CVE 5 ${p.raw.from} affected[${pi}] ${p.raw.vendor} / ${p.raw.product}: ${j.why}`;
    const used = (withVersion ? [withVersion] : ordered).map((n) => n.text);
    const o: Outcome = j.v === 'T' ? { rank: 4, reason, used } : j.v === 'U' ? { rank: 2, reason, used } : { rank: j.byVersion ? 3 : 1, reason, used };
    outcomes.push(o);
  });
  return pickOutcome(outcomes) ?? { rank: 1, reason: 'no CVE 5 product names the device', used: [] };
}

function partRank(c: Cpe): number {
  const p = valueText(c.part);
  return p === 'o' ? 0 : p === 'a' ? 1 : 2;
}

const statusOf: Record<Outcome['rank'], VulnStatus> = { 4: 'affected', 3: 'not-affected', 2: 'unknown', 1: 'not-affected' };

/** Judge one CVE (by index position) for a device. */
export function judge(index: VulnIndex, at: number, device: DeviceCpes): CveVerdict {
  let cc = index.compiled[at];
  if (!cc) {
    cc = compile(index.records[at]!);
    index.compiled[at] = cc;
  }
  const nvd = cc.configs.length > 0 ? judgeNvd(cc, device) : undefined;
  const cna = cc.products.length > 0 ? judgeCve5(cc, device) : undefined;
  const pick = !nvd ? cna! : !cna ? nvd : cna.rank > nvd.rank ? cna : nvd;
  const o = pick ?? { rank: 1 as const, reason: 'the record names no products', used: [] };
  return { cve: cc.record.id, status: statusOf[o.rank], reason: o.rank === 1 ? `nothing applies: ${o.reason}` : o.reason, cpe: o.used, record: cc.record };
}

/** Every CVE the index holds for a device's CPE names, judged. */
export function matchCpes(index: VulnIndex, cpes: readonly string[]): CveVerdict[] {
  const device = deviceCpes(cpes);
  return candidates(index, device).map((at) => judge(index, at, device));
}


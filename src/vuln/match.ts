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
 *   free text read by `readFreeTextVersion` of version.ts, else unknown) and `defaultStatus`.
 * The CVE is affected when NVD or CVE 5 says so; else not-affected when one of them decided it on a
 * version bound; else unknown when one of them could not tell; else not-affected (nothing applies).
 */
import type { VulnStatus } from '../core/records.js';
import { compareAttribute, cpeAttributes, cpeKey, formatCpe, literalValue, tryParseCpe, valueText, type Cpe, type CpeValue } from './cpe.js';
import type { AffectedProduct, AffectedVersion, ConfigNode, CpeCriterion, CveRecord } from './types.js';
import { compareParsed, compareVersions, parseVersionCached, readFreeTextVersion, type ParsedVersion } from './version.js';

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
  /** `key`'s number (see `keyId`), -1 when null or not numbered. */
  readonly keyId: number;
  /** The criterion's part (a, o, h, as `partOf`), else null. */
  readonly part: Part | null;
  readonly hardware: boolean;
  readonly vulnerable: boolean;
  // `cpe.version` and its kind and text, kept here so judging reads one object.
  readonly versionValue: CpeValue;
  readonly versionKind: CpeValue['kind'];
  readonly versionText: string | null;
  /** `bounds.length` and the first bound's op and parse (most criteria have at most one). */
  readonly boundCount: number;
  readonly firstOp: CompiledBound['op'];
  readonly firstParsed: ParsedVersion | null;
  /** Every attribute after the version is ANY: a device name without wildcards there always fits. */
  readonly restAny: boolean;
  /** The version bounds given, in the order they are checked, parsed once (src/vuln/version.ts). */
  readonly bounds: readonly CompiledBound[];
  /** The literal version parsed, when the criterion names one. */
  readonly version: ParsedVersion | null;
}
type BoundKey = 'versionStartIncluding' | 'versionStartExcluding' | 'versionEndIncluding' | 'versionEndExcluding';
interface CompiledBound {
  readonly key: BoundKey;
  readonly text: string;
  /** `text` lowercased: device versions are lowercase (src/vuln/cpe.ts), so equal strings short-cut the order. */
  readonly lower: string;
  readonly parsed: ParsedVersion | null;
  /** 0 >=, 1 >, 2 <=, 3 < (the `bounds` table below). */
  readonly op: 0 | 1 | 2 | 3;
}

/**
 * A number per distinct key, so comparing a criterion's key with a device's does not read either
 * string (cold memory). Bounded: past the limit a key gets -1 and is compared as a string.
 */
const keyIds = new Map<string, number>();
function keyId(k: string): number {
  const hit = keyIds.get(k);
  if (hit !== undefined) return hit;
  if (keyIds.size >= 4_000_000) return -1;
  keyIds.set(k, keyIds.size);
  return keyIds.size - 1;
}
/** Do two keys (with their numbers) name the same part:vendor:product? */
function sameKey(a: string, ia: number, b: string, ib: number): boolean {
  return ia >= 0 && ib >= 0 ? ia === ib : a === b;
}

type Part = 'a' | 'o' | 'h';
/** A part as one of three constant strings (read without touching the parsed name's own string). */
function partOf(v: CpeValue): Part | null {
  const t = valueText(v);
  return t === 'a' ? 'a' : t === 'o' ? 'o' : t === 'h' ? 'h' : null;
}

/**
 * Compile a criterion; those without bounds (hardware platforms, exact versions) repeat across
 * many CVEs and are compiled once per index (`shared`, one map per `vulnerable` value): less
 * memory, and the matcher reads one hot object instead of many cold ones.
 */
function compileCriterion(raw: CpeCriterion, shared: CompileState['shared']): CompiledCriterion {
  const plain = raw.versionStartIncluding === undefined && raw.versionStartExcluding === undefined && raw.versionEndIncluding === undefined && raw.versionEndExcluding === undefined;
  const same = plain ? shared[raw.vulnerable ? 1 : 0] : undefined;
  const hit = same?.get(raw.criteria);
  if (hit) return hit;
  const cc = compileCriterionUncached(raw);
  if (same && same.size < 1_000_000) same.set(raw.criteria, cc);
  return cc;
}

function compileCriterionUncached(raw: CpeCriterion): CompiledCriterion {
  const cpe = tryParseCpe(raw.criteria);
  const key = cpe ? cpeKey(cpe) : null;
  const bounds: CompiledBound[] = [];
  boundKeys.forEach((k, op) => {
    const text = raw[k];
    if (text !== undefined) bounds.push({ key: k, text, lower: text.toLowerCase(), parsed: parseVersionCached(text) ?? null, op: op as CompiledBound['op'] });
  });
  const vt = cpe ? valueText(cpe.version) : null;
  const part = cpe ? partOf(cpe.part) : null;
  const versionValue = cpe ? cpe.version : literalValue('*');
  return {
    raw,
    cpe,
    key,
    keyId: key === null ? -1 : keyId(key),
    part,
    hardware: part === 'h',
    vulnerable: raw.vulnerable,
    versionValue,
    versionKind: versionValue.kind,
    versionText: vt,
    boundCount: bounds.length,
    firstOp: bounds[0]?.op ?? 0,
    firstParsed: bounds[0]?.parsed ?? null,
    restAny: cpe ? rest.every((a) => cpe[a].kind === 'any') : false,
    bounds,
    version: vt === null ? null : (parseVersionCached(vt) ?? null),
  };
}

/**
 * A compiled CVE, flat: matching is bound by memory latency (each device reads ~30 CVEs scattered
 * over a large heap), so a CVE is a few objects rather than a tree of configurations and nodes.
 */
interface CompiledCve {
  readonly id: string;
  readonly record: CveRecord;
  readonly configCount: number;
  /** Every criterion of every configuration, in order. */
  readonly crit: readonly CompiledCriterion[];
  /**
   * The configurations' shape: per configuration its flags, node count and criteria count, then
   * per node its flags and criteria count. Flags: 1 AND (else OR), 2 negated.
   */
  readonly shape: readonly number[];
  readonly products: readonly CompiledProduct[];
}
const noProducts: readonly CompiledProduct[] = [];
const flags = (x: { readonly operator: 'AND' | 'OR'; readonly negate: boolean }): number => (x.operator === 'AND' ? 1 : 0) | (x.negate ? 2 : 0);
const operatorOf = (f: number): 'AND' | 'OR' => (f & 1 ? 'AND' : 'OR');
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
  /**
   * Beside each `byKey` list, per CVE the NVD configurations naming the key, as a bit mask
   * (bit i for configuration i; all bits from the 31st on, or for CVE 5 products: 0).
   */
  readonly configMasks: ReadonlyMap<string, readonly number[]>;
  readonly state: CompileState;
}

/** The index's working state: shared compiled criteria, candidate dedup, the status memo. */
interface CompileState {
  readonly shared: readonly [Map<string, CompiledCriterion>, Map<string, CompiledCriterion>];
  /**
   * Per record (at 2i, 2i + 1): the number of the last candidate collection that took it (dedup
   * without a Set) and the configuration mask it gathered; side by side, one memory read.
   */
  readonly scratch: Int32Array;
  stamp: number;
  readonly memo: Map<string, DeviceMemo>;
}

/** The candidates, their configuration masks and their statuses for one device CPE list. */
interface DeviceMemo {
  readonly at: readonly number[];
  readonly mask: readonly number[];
  readonly status: readonly VulnStatus[];
}

/** Configuration i's bit in a mask; -1 (every bit) past 30, so those are always read. */
const configBit = (i: number): number => (i < 31 ? 1 << i : -1);

/** A CVE 5 vendor/product name as a CPE-like identifier: "Huawei Technologies Co., Ltd." → "huawei". */
function cpeLikeName(name: string, isVendor: boolean): string | null {
  let s = name.trim().toLowerCase();
  if (isVendor) s = s.replace(/[,.]?\s*(co\.?,?\s*ltd\.?|corp(oration)?\.?|inc\.?|ltd\.?|gmbh|llc|technologies|technology|systems|networks)\b\.?/g, ' ').trim();
  s = s.replace(/\s+/g, '_').replace(/[^a-z0-9_\-.]/g, '');
  if (s === '' || s === 'n_a' || s === 'na' || s === 'n/a' || s === 'na.' || s === 'unknown') return null;
  return s.length > 200 ? null : s;
}

/**
 * Index key of a criterion string (as `cpeKey` of its parse): null for a wildcard or NA vendor or
 * product, undefined when it does not parse. Plain names skip the full parse.
 */
function quickKey(s: string): string | null | undefined {
  if (s.length > 2048) return undefined;
  const head = s.split(':', 5);
  if (head.length === 5 && head[0]!.toLowerCase() === 'cpe' && head[1] === '2.3') {
    const [, , p, v, pr] = head as [string, string, string, string, string];
    if (/^[aoh]$/i.test(p) && plainName.test(v) && plainName.test(pr) && v !== '-' && pr !== '-') return `${p.toLowerCase()}:${v.toLowerCase()}:${pr.toLowerCase()}`;
  }
  // Escapes, wildcards, NA, missing components (read as ANY): as the parse says.
  const c = tryParseCpe(s);
  return c ? cpeKey(c) : undefined;
}
const plainName = /^[A-Za-z0-9._\-]+$/;

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
  const configMasks = new Map<string, number[]>();
  const everywhere: number[] = [];
  const list: CveRecord[] = [];
  for (const r of records) {
    const at = list.length;
    list.push(r);
    const keys = new Map<string, number>();
    let wildcard = false;
    r.configurations.forEach((conf, ci) => {
      for (const node of conf.nodes)
        for (const c of node.cpeMatch) {
          const k = quickKey(c.criteria);
          if (k) keys.set(k, (keys.get(k) ?? 0) | configBit(ci));
          else if (k === null) wildcard = true;
        }
    });
    for (const p of r.affected) {
      const pk = productKeys(p);
      for (const k of pk.keys) keys.set(k, keys.get(k) ?? 0);
      wildcard ||= pk.wildcard;
    }
    for (const [k, mask] of keys) {
      const l = byKey.get(k);
      if (l) {
        l.push(at);
        configMasks.get(k)!.push(mask);
      } else {
        byKey.set(k, [at]);
        configMasks.set(k, [mask]);
      }
    }
    if (wildcard) everywhere.push(at);
  }
  const compiled = new Array<CompiledCve | undefined>(list.length);
  const state: CompileState = { shared: [new Map(), new Map()], scratch: new Int32Array(2 * list.length), stamp: 0, memo: new Map() };
  if (options.eager) for (let i = 0; i < list.length; i++) compiled[i] = compile(list[i]!, state.shared);
  return { byKey, everywhere, records: list, compiled, configMasks, state };
}

function compile(r: CveRecord, shared: CompileState['shared']): CompiledCve {
  const crit: CompiledCriterion[] = [];
  const shape: number[] = [];
  for (const conf of r.configurations) {
    let size = 0;
    for (const node of conf.nodes) size += node.cpeMatch.length;
    shape.push(flags(conf), conf.nodes.length, size);
    for (const node of conf.nodes) {
      shape.push(flags(node), node.cpeMatch.length);
      for (const c of node.cpeMatch) crit.push(compileCriterion(c, shared));
    }
  }
  return { id: r.id, record: r, configCount: r.configurations.length, crit, shape, products: r.affected.length > 0 ? compileProducts(r) : noProducts };
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
  readonly keyId: number;
  readonly part: Part | null;
  readonly version: ParsedVersion | null;
  /** `[text]`, shared by every judgement that used this name. */
  readonly used: readonly string[];
  /** No attribute after the version has a wildcard (then a criterion with ANY there always fits). */
  readonly restPlain: boolean;
  /** Index keys whose CVEs may name it (its own, and the CVE 5 vendor/product keys). */
  readonly lookups: readonly string[];
}

/** The device as the matcher sees it: its parsed CPEs. */
export interface DeviceCpes {
  readonly names: readonly DeviceName[];
  readonly parts: ReadonlySet<string>;
  /** Keys of the names; a name with a wildcard makes `wild` true (every criterion is then tried). */
  readonly keys: ReadonlySet<string>;
  readonly wild: boolean;
}

// Device names repeat over a survey (one model and firmware on many hosts): parse each once.
const deviceNames = new Map<string, DeviceName | null>();

function deviceName(text: string): DeviceName | null {
  const hit = deviceNames.get(text);
  if (hit !== undefined) return hit;
  const cpe = tryParseCpe(text);
  let n: DeviceName | null = null;
  if (cpe) {
    const key = cpeKey(cpe);
    const vt = valueText(cpe.version);
    const formatted = formatCpe(cpe);
    const lookups: string[] = [];
    if (key !== null) {
      const [, v, p] = key.split(':') as [string, string, string];
      lookups.push(key, `*:${v}:${p}`);
      if (key.startsWith('o:') && p.endsWith('_firmware')) lookups.push(`*:${v}:${p.slice(0, -9)}`);
    }
    n = {
      text: formatted,
      cpe,
      key,
      keyId: key === null ? -1 : keyId(key),
      part: partOf(cpe.part),
      version: vt === null ? null : (parseVersionCached(vt) ?? null),
      used: [formatted],
      restPlain: rest.every((a) => cpe[a].kind !== 'value' || (cpe[a].lead === 0 && cpe[a].trail === 0)),
      lookups,
    };
  }
  if (deviceNames.size >= 100_000) deviceNames.clear();
  deviceNames.set(text, n);
  return n;
}

/** Parse a device's CPE list; names that do not parse are left out (device data is untrusted). */
export function deviceCpes(cpes: readonly string[]): DeviceCpes {
  const names: DeviceName[] = [];
  const parts = new Set<string>();
  const keys = new Set<string>();
  let wild = false;
  const n = Math.min(cpes.length, 32);
  for (let i = 0; i < n; i++) {
    const name = deviceName(cpes[i]!);
    if (!name) continue;
    names.push(name);
    if (name.key) keys.add(name.key);
    else wild = true;
    if (name.part) parts.add(name.part);
  }
  return { names, parts, keys, wild };
}

const ascending = (a: number, b: number): number => a - b;

/** The candidate CVEs (positions in index.records, ascending) for a device. */
export function candidates(index: VulnIndex, device: DeviceCpes): number[] {
  return collect(index, device).at;
}

/** Candidates with the mask of the NVD configurations naming one of the device's products. */
function collect(index: VulnIndex, device: DeviceCpes): { at: number[]; mask: number[] } {
  const lists: (readonly number[])[] = [];
  const masks: (readonly number[] | null)[] = [];
  if (index.everywhere.length > 0) {
    lists.push(index.everywhere);
    masks.push(null); // a wildcard name somewhere: read every configuration
  }
  for (const n of device.names)
    for (const k of n.lookups) {
      const l = index.byKey.get(k);
      if (l) {
        lists.push(l);
        masks.push(index.configMasks.get(k)!);
      }
    }
  const at: number[] = [];
  const mask: number[] = [];
  if (lists.length === 0) return { at, mask };
  // One CVE is listed under each key it names (a firmware and its hardware): keep it once, with
  // the union of the configurations.
  const st = index.state;
  const scratch = st.scratch;
  const stamp = (st.stamp = st.stamp >= 0x7ffffffe ? 1 : st.stamp + 1);
  if (stamp === 1) scratch.fill(0);
  for (let li = 0; li < lists.length; li++) {
    const l = lists[li]!;
    const m = masks[li]!;
    for (let i = 0; i < l.length; i++) {
      const r = l[i]!;
      const bits = m === null ? -1 : m[i]!;
      if (scratch[2 * r] !== stamp) {
        scratch[2 * r] = stamp;
        scratch[2 * r + 1] = bits;
        at.push(r);
      } else scratch[2 * r + 1] = scratch[2 * r + 1]! | bits;
    }
  }
  if (lists.length > 1) at.sort(ascending);
  // A device CPE with a wildcard may touch any configuration (judgeCriterion compares attributes).
  for (const r of at) mask.push(device.wild ? -1 : scratch[2 * r + 1]!);
  return { at, mask };
}

interface Eval {
  readonly v: Tri;
  /** Empty when the judgement is not explained (the status-only path). */
  readonly why: string;
  /** A device CPE had the criterion's part, vendor and product. */
  readonly touched: boolean;
  /** The device has no CPE of the criterion's part at all. */
  readonly absentPart: boolean;
  /** The decision rested on a version comparison (for not-affected ranking). */
  readonly byVersion: boolean;
  readonly used: readonly string[];
}

/**
 * The outcomes a criterion can have for a device CPE of its product, without an explanation: the
 * status-only path allocates nothing per judgement.
 */
const quiet = (v: Tri, byVersion: boolean): Eval => ({ v, why: '', touched: true, absentPart: false, byVersion, used: [] });
const T0 = quiet('T', false);
const T1 = quiet('T', true);
const F1 = quiet('F', true);
const U0 = quiet('U', false);

function said(v: Tri, byVersion: boolean, why: string, used: readonly string[]): Eval {
  return { v, why, touched: true, absentPart: false, byVersion, used };
}

function shown(v: CpeValue): string {
  return v.kind === 'any' ? '*' : v.kind === 'na' ? '-' : (valueText(v) ?? 'a wildcard');
}

const boundKeys = ['versionStartIncluding', 'versionStartExcluding', 'versionEndIncluding', 'versionEndExcluding'] as const;
const boundOps = ['>=', '>', '<=', '<'] as const;
/** Does an order of device version against bound pass the bound's operator? */
function within(cmp: -1 | 0 | 1, op: CompiledBound['op']): boolean {
  return op === 0 ? cmp >= 0 : op === 1 ? cmp > 0 : op === 2 ? cmp <= 0 : cmp < 0;
}

/**
 * Judge a criterion's version for one device name. `ex` builds the explanation; without it the
 * result is one of the shared `quiet` outcomes (same value, same version flag).
 */
function judgeVersion(cc: CompiledCriterion, n: DeviceName, ex: boolean): Eval {
  const cv = cc.versionValue;
  const kind = cc.versionKind;
  const dv = n.cpe.version;
  const dtext = valueText(dv);
  const used = n.used;
  if (cc.hardware && !cc.vulnerable) {
    // Platform hardware: NVD's version is a revision (see the module comment).
    if (kind !== 'value') return ex ? said('T', false, 'model matched', used) : T0;
    if (dtext === null) return ex ? said('T', false, `model matched, revision ${shown(cv)} not identified on the device`, used) : T0;
    if (dtext === cc.versionText) return ex ? said('T', false, `revision ${dtext} matched`, used) : T0;
    return ex ? said('F', true, `revision ${dtext} is not ${shown(cv)}`, used) : F1;
  }
  if (kind === 'any') {
    const count = cc.boundCount;
    if (count === 0) return ex ? said('T', false, 'all versions', used) : T0;
    if (dtext === null) return ex ? said('U', false, `device version ${shown(dv)} not known`, used) : U0;
    let ok = '';
    for (let i = 0; i < count; i++) {
      const parsed = i === 0 ? cc.firstParsed : cc.bounds[i]!.parsed;
      const op = i === 0 ? cc.firstOp : cc.bounds[i]!.op;
      let cmp = n.version && parsed ? compareParsed(n.version, parsed) : undefined;
      // Equal strings are equal versions (compareVersions) even when they do not parse (when they
      // do, the parses already compare 0); device text is lowercase (src/vuln/cpe.ts).
      if (cmp === undefined && dtext === cc.bounds[i]!.lower) cmp = 0;
      if (cmp === undefined) return ex ? said('U', false, `version ${dtext} cannot be ordered against ${cc.bounds[i]!.key} ${cc.bounds[i]!.text}`, used) : U0;
      if (!within(cmp, op)) return ex ? said('F', true, `version ${dtext} is not ${boundOps[op]} ${cc.bounds[i]!.text} (${cc.bounds[i]!.key})`, used) : F1;
      if (ex) ok = (ok === '' ? ok : ok + ' and ') + `${boundOps[op]} ${cc.bounds[i]!.text} (${cc.bounds[i]!.key})`;
    }
    return ex ? said('T', true, `version ${dtext} ${ok}`, used) : T1;
  }
  if (kind === 'na') {
    if (dv.kind === 'na') return ex ? said('T', false, 'version - (NA) on both', used) : T0;
    return ex ? said('U', false, `the criterion gives no version (-), so whether version ${shown(dv)} is affected cannot be told`, used) : U0;
  }
  const ctext = cc.versionText;
  if (ctext === null) {
    const r = compareAttribute(cv, dv);
    if (r === 'superset' || r === 'equal') return ex ? said('T', true, `version ${shown(dv)} within ${formatValueShort(cv)}`, used) : T1;
    if (r === 'disjoint') return ex ? said('F', true, `version ${shown(dv)} outside ${formatValueShort(cv)}`, used) : F1;
    return ex ? said('U', false, `version ${shown(dv)} vs pattern ${formatValueShort(cv)}`, used) : U0;
  }
  if (dtext === null) return ex ? said('U', false, `device version ${shown(dv)} not known (criterion names ${ctext})`, used) : U0;
  // As for bounds: parses first, equal strings when they do not parse (both texts are lowercase).
  let cmp = n.version && cc.version ? compareParsed(n.version, cc.version) : undefined;
  if (cmp === undefined && dtext === ctext) cmp = 0;
  if (cmp === undefined) return ex ? said('U', false, `version ${dtext} cannot be ordered against ${ctext}`, used) : U0;
  if (cmp === 0) return ex ? said('T', true, `version ${dtext} = ${ctext}`, used) : T1;
  return ex ? said('F', true, `version ${dtext} is not ${ctext}`, used) : F1;
}

function formatValueShort(v: CpeValue): string {
  if (v.kind !== 'value') return shown(v);
  const w = (x: number | '*'): string => (x === '*' ? '*' : '?'.repeat(x));
  return w(v.lead) + v.text + w(v.trail);
}

const rest = cpeAttributes.filter((a) => a !== 'part' && a !== 'vendor' && a !== 'product' && a !== 'version');

function judgeCriterion(cc: CompiledCriterion, device: DeviceCpes, ex: boolean): Eval {
  const c = cc.cpe;
  if (!c) return ex ? { v: 'F', why: `criterion ${cc.raw.criteria} does not parse`, touched: false, absentPart: false, byVersion: false, used: [] } : noProduct;
  const part = cc.part;
  const names = device.names;
  let best: Eval | undefined;
  for (let i = 0; i < names.length; i++) {
    const n = names[i]!;
    const d = n.cpe;
    if (cc.key !== null && n.key !== null) {
      if (!sameKey(cc.key, cc.keyId, n.key, n.keyId)) continue; // both literal: the key decides part, vendor and product (all equal)
    } else {
      if (compareAttribute(c.part, d.part) === 'disjoint') continue;
      const vr = compareAttribute(c.vendor, d.vendor);
      const pr = compareAttribute(c.product, d.product);
      if (!(vr === 'equal' || vr === 'superset') || !(pr === 'equal' || pr === 'superset')) continue;
    }
    let e: Eval | undefined;
    // ANY against a value without wildcards is always equal or superset: nothing to compare.
    if (!(cc.restAny && n.restPlain))
      for (const a of rest) {
        const r = compareAttribute(c[a], d[a]);
        if (r === 'disjoint') {
          e = ex ? said('F', true, `${a} ${shown(d[a])} is not ${shown(c[a])}`, n.used) : F1;
          break;
        }
        if (r !== 'equal' && r !== 'superset' && !(cc.hardware && !cc.vulnerable)) {
          e = ex ? said('U', false, `${a} ${shown(c[a])} not identified on the device`, n.used) : U0;
        }
      }
    if (!e || e.v === 'U') {
      const j = judgeVersion(cc, n, ex);
      if (!e || j.v === 'F') e = j;
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
/** A part the device has no CPE for at all is unknown in a configuration, not false (module comment). */
const val = (e: Eval): Tri => (e.v === 'F' && e.absentPart ? 'U' : e.v);

interface Outcome {
  /** 4 affected, 3 not affected by a version bound, 2 unknown, 1 nothing applies. */
  readonly rank: 1 | 2 | 3 | 4;
  /** Empty when not explained. */
  readonly reason: string;
  readonly used: readonly string[];
}
const quietOutcome: Readonly<Record<Outcome['rank'], Outcome>> = { 1: { rank: 1, reason: '', used: [] }, 2: { rank: 2, reason: '', used: [] }, 3: { rank: 3, reason: '', used: [] }, 4: { rank: 4, reason: '', used: [] } };

const and3 = (a: Tri, b: Tri): Tri => (a === 'F' || b === 'F' ? 'F' : a === 'U' || b === 'U' ? 'U' : 'T');
const or3 = (a: Tri, b: Tri): Tri => (a === 'T' || b === 'T' ? 'T' : a === 'U' || b === 'U' ? 'U' : 'F');
const word = (v: Tri): string => (v === 'T' ? 'true' : v === 'F' ? 'false' : 'unknown');

// Criteria judgements of the configuration being read; reused (the matcher never re-enters itself).
const evals: Eval[] = [];

/**
 * Judge the NVD configurations. `ex` builds the reason and the list of device CPEs used; only the
 * configurations in `mask` are read (those naming the device's products, from the index; -1 reads
 * all, as the naive scan does), which cannot change the outcome: an unnamed one is never touched.
 */
function judgeNvd(cve: CompiledCve, device: DeviceCpes, ex: boolean, mask: number): Outcome {
  // Kleene OR over configurations: the first affected, else the first unknown, else the first
  // not-affected by a version bound, else the first (pickOutcome, kept in a single pass).
  let unknown: Outcome | undefined;
  let byBound: Outcome | undefined;
  let first: Outcome | undefined;
  const crit = cve.crit;
  const shape = cve.shape;
  let sp = 0; // position in shape
  let cp = 0; // position in crit
  for (let ci = 0; ci < cve.configCount; ci++) {
    const cflags = shape[sp]!;
    const nodeCount = shape[sp + 1]!;
    const size = shape[sp + 2]!;
    const start = cp;
    const shapeAt = sp + 3;
    sp = shapeAt + 2 * nodeCount;
    cp += size;
    if ((mask & configBit(ci)) === 0) continue;
    let touched = false;
    for (let i = 0; i < size; i++) {
      const e = judgeCriterion(crit[start + i]!, device, ex);
      touched ||= e.touched;
      evals[i] = e;
    }
    if (!touched) continue;
    let confV: Tri | undefined;
    // Joined with + (a rope, no copy): join() would copy every reason of every judgement.
    let parts = '';
    let vulnerableHit = false;
    let byVersion = false;
    const used: string[] = [];
    let base = 0;
    for (let ni = 0; ni < nodeCount; ni++) {
      const nflags = shape[shapeAt + 2 * ni]!;
      const len = shape[shapeAt + 2 * ni + 1]!;
      const negate = (nflags & 2) !== 0;
      let pick = -1;
      let v: Tri;
      if (nflags & 1) {
        for (let i = 0; i < len && pick < 0; i++) if (val(evals[base + i]!) === 'F') pick = i;
        for (let i = 0; i < len && pick < 0; i++) if (val(evals[base + i]!) === 'U') pick = i;
        v = pick < 0 ? 'T' : val(evals[base + pick]!);
        if (pick < 0) pick = 0;
      } else {
        for (let i = 0; i < len && pick < 0; i++) if (val(evals[base + i]!) === 'T') pick = i;
        for (let i = 0; i < len && pick < 0; i++) if (val(evals[base + i]!) === 'U') pick = i;
        for (let i = 0; i < len && pick < 0; i++) if (evals[base + i]!.touched) pick = i;
        if (pick < 0) pick = 0;
        v = pick < len ? val(evals[base + pick]!) : 'F';
      }
      if (negate) v = neg(v);
      if (pick < len) {
        const e = evals[base + pick]!;
        const cc = crit[start + base + pick]!;
        byVersion ||= e.byVersion;
        if (e.v === 'T' && cc.vulnerable && !negate) vulnerableHit = true;
        if (ex) {
          for (const u of e.used) if (!used.includes(u)) used.push(u);
          parts = (parts === '' ? parts : parts + '; ') + `node ${ni}${negate ? ' (negated)' : ''} ${operatorOf(nflags)} match ${pick} ${cc.raw.criteria}: ${e.why} → ${word(v)}`;
        }
      }
      confV = confV === undefined ? v : cflags & 1 ? and3(confV, v) : or3(confV, v);
      base += len;
    }
    let v = confV ?? 'F';
    if (cflags & 2) v = neg(v);
    const r: Outcome['rank'] = v === 'T' && vulnerableHit ? 4 : v === 'U' ? 2 : byVersion ? 3 : 1;
    const o = ex ? { rank: r, reason: `NVD configuration ${ci}${cflags & 2 ? ' (negated)' : ''} (${operatorOf(cflags)}): ${parts}`, used } : quietOutcome[r];
    if (r === 4) return o;
    if (r === 2) unknown ??= o;
    else if (r === 3) byBound ??= o;
    first ??= o;
  }
  return unknown ?? byBound ?? first ?? (ex ? { rank: 1, reason: 'no NVD configuration names the device', used: [] } : quietOutcome[1]);
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

function compiledAt(index: VulnIndex, at: number): CompiledCve {
  let cc = index.compiled[at];
  if (!cc) {
    cc = compile(index.records[at]!, index.state.shared);
    index.compiled[at] = cc;
  }
  return cc;
}

function outcomeOf(cc: CompiledCve, device: DeviceCpes, ex: boolean, mask: number): Outcome {
  const nvd = cc.configCount > 0 ? judgeNvd(cc, device, ex, mask) : undefined;
  const cna = cc.products.length > 0 ? judgeCve5(cc, device) : undefined;
  const pick = !nvd ? cna : !cna ? nvd : cna.rank > nvd.rank ? cna : nvd;
  return pick ?? { rank: 1, reason: 'the record names no products', used: [] };
}

/** Judge one CVE (by index position) for a device, reading all its configurations, with its reason and the device CPEs it used. */
export function judge(index: VulnIndex, at: number, device: DeviceCpes): CveVerdict {
  return explained(index, at, device, -1);
}

function explained(index: VulnIndex, at: number, device: DeviceCpes, mask: number): CveVerdict {
  const cc = compiledAt(index, at);
  const o = outcomeOf(cc, device, true, mask);
  return { cve: cc.record.id, status: statusOf[o.rank], reason: o.rank === 1 ? `nothing applies: ${o.reason}` : o.reason, cpe: o.used, record: cc.record };
}

/** The status `judge` gives, without building its reason (the matcher's hot path; the naive scan). */
export function judgeStatus(index: VulnIndex, at: number, device: DeviceCpes, mask = -1): VulnStatus {
  return statusOf[outcomeOf(compiledAt(index, at), device, false, mask).rank];
}

/**
 * A verdict whose reason and CPE list are built when first read, by judging again with the same
 * code, explained: a survey keeps and shows few of its ~30 verdicts per device in full.
 */
class LazyVerdict implements CveVerdict {
  readonly cve: string;
  readonly status: VulnStatus;
  readonly record: CveRecord;
  readonly #index: VulnIndex;
  readonly #at: number;
  readonly #mask: number;
  readonly #device: DeviceCpes;
  #full: CveVerdict | undefined;
  constructor(index: VulnIndex, at: number, mask: number, device: DeviceCpes, status: VulnStatus) {
    this.#index = index;
    this.#at = at;
    this.#mask = mask;
    this.#device = device;
    // From the compiled CVE the matcher just read: the record itself is cold memory.
    const cc = index.compiled[at]!;
    this.record = cc.record;
    this.cve = cc.id;
    this.status = status;
  }
  #explained(): CveVerdict {
    return (this.#full ??= explained(this.#index, this.#at, this.#device, this.#mask));
  }
  get reason(): string {
    return this.#explained().reason;
  }
  get cpe(): readonly string[] {
    return this.#explained().cpe;
  }
  toJSON(): CveVerdict {
    return { cve: this.cve, status: this.status, reason: this.reason, cpe: this.cpe, record: this.record };
  }
}

/** Most device CPE lists whose statuses are remembered per index (then the memo starts over). */
const memoSize = 20_000;

/**
 * Every CVE the index holds for a device's CPE names, judged. Statuses are remembered per distinct
 * CPE list (a survey sees one model and firmware on many hosts); reasons are built when read.
 */
export function matchCpes(index: VulnIndex, cpes: readonly string[]): CveVerdict[] {
  const device = deviceCpes(cpes);
  let key = '';
  for (const n of device.names) key += n.text + '\n';
  const memo = index.state.memo;
  let m = memo.get(key);
  if (!m) {
    const { at, mask } = collect(index, device);
    const status = new Array<VulnStatus>(at.length);
    for (let i = 0; i < at.length; i++) status[i] = judgeStatus(index, at[i]!, device, mask[i]!);
    m = { at, mask, status };
    if (memo.size >= memoSize) memo.clear();
    memo.set(key, m);
  }
  const out = new Array<CveVerdict>(m.at.length);
  for (let i = 0; i < m.at.length; i++) out[i] = new LazyVerdict(index, m.at[i]!, m.mask[i]!, device, m.status[i]!);
  return out;
}

/**
 * matchCpes for many devices at once: visit(i, verdicts) for each devices[i], in the order of their
 * CPE lists, so devices of one model follow each other and read the same CVE records while those
 * are still in the CPU caches. Matching is memory-bound (records spread over a heap of a gigabyte
 * or more): in bench/vuln this order took ~45% less CPU than arrival order. The caller keeps what it
 * needs; keeping every verdict of 100,000 devices costs more than the reordering saves.
 */
export function matchEach(index: VulnIndex, devices: readonly (readonly string[])[], visit: (i: number, verdicts: CveVerdict[]) => void): void {
  const keys = devices.map((cpes) => cpes.join('\n'));
  const order = Array.from(devices.keys()).sort((a, b) => (keys[a]! < keys[b]! ? -1 : keys[a]! > keys[b]! ? 1 : a - b));
  for (const i of order) visit(i, matchCpes(index, devices[i]!));
}

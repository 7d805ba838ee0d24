/**
 * CPE 2.3 names: the formatted-string binding (NIST IR 7695 §6.2) parsed into a well-formed name
 * (WFN), bound back, and compared attribute by attribute as NIST IR 7696 (CPE Name Matching)
 * defines. Values are kept unescaped and lowercased (matching is case-insensitive, IR 7696 §5.3),
 * with the leading/trailing wildcards kept apart: IR 7695 allows `*` and runs of `?` only at the
 * ends of a value.
 */
import { IotcleanError } from '../core/errors.js';

/** The eleven WFN attributes, in formatted-string order. */
export const cpeAttributes = [
  'part',
  'vendor',
  'product',
  'version',
  'update',
  'edition',
  'language',
  'swEdition',
  'targetSw',
  'targetHw',
  'other',
] as const;
export type CpeAttribute = (typeof cpeAttributes)[number];

/** A wildcard at one end of a value: none (0), a run of n `?` (each matches one or no character), or `*`. */
export type CpeWildcard = number | '*';

/** One attribute value: ANY (`*`), NA (`-`), or a literal with optional end wildcards. */
export type CpeValue =
  | { readonly kind: 'any' }
  | { readonly kind: 'na' }
  | { readonly kind: 'value'; readonly text: string; readonly lead: CpeWildcard; readonly trail: CpeWildcard };

export type Cpe = { readonly [K in CpeAttribute]: CpeValue };

/** IR 7696 attribute relations (Table 6-2); `undefined` where the IR leaves the comparison undefined. */
export type CpeRelation = 'superset' | 'subset' | 'equal' | 'disjoint' | 'undefined';

const ANY: CpeValue = { kind: 'any' };
const NA: CpeValue = { kind: 'na' };
/** Longest name accepted: NVD's longest are under 300 characters; device input is hostile. */
const maxLength = 2048;

function bad(name: string, why: string): IotcleanError {
  const shown = name.length > 120 ? `${name.slice(0, 120)}…` : name;
  return new IotcleanError('E_CPE', `invalid CPE 2.3 name ${JSON.stringify(shown)}: ${why}`, {
    hint: 'use the formatted-string form cpe:2.3:part:vendor:product:version:update:edition:language:sw_edition:target_sw:target_hw:other (NIST IR 7695 §6.2)',
  });
}

/** Split on unescaped colons. */
function splitComponents(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\') {
      cur += c + (s[i + 1] ?? '');
      i++;
    } else if (c === ':') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

function parseValue(raw: string, name: string, attr: CpeAttribute): CpeValue {
  if (raw === '*' || raw === '') return ANY; // an empty component is read as ANY (IR 7695 §6.1.3.3 for URIs)
  if (raw === '-') return NA;
  // Fast path: no escapes, no wildcards (most names); one object, no per-character work.
  if (/^[A-Za-z0-9._\-]+$/.test(raw)) {
    const text = raw.toLowerCase();
    if (attr === 'part' && !(text === 'a' || text === 'o' || text === 'h')) throw bad(name, 'part must be a, o, h or *');
    return { kind: 'value', text, lead: 0, trail: 0 };
  }
  // Read logical characters: `\x` is the literal x; unescaped `*`/`?` are wildcards.
  const chars: { c: string; wild: boolean }[] = [];
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    const code = c.charCodeAt(0);
    if (code <= 0x20 || code >= 0x7f) throw bad(name, `${attr} holds a character outside printable ASCII`);
    if (c === '\\') {
      const next = raw[i + 1];
      if (next === undefined) throw bad(name, `${attr} ends with a lone backslash`);
      const nc = next.charCodeAt(0);
      // A quoted space is outside IR 7695's set, but devices report "1.1.4 Build 20230219": keep it.
      if (nc < 0x20 || nc >= 0x7f) throw bad(name, `${attr} escapes a character outside printable ASCII`);
      chars.push({ c: next, wild: false });
      i++;
    } else if (c === '*' || c === '?') chars.push({ c, wild: true });
    else if (/[A-Za-z0-9._\-]/.test(c)) chars.push({ c, wild: false });
    else throw bad(name, `${attr} has an unescaped ${JSON.stringify(c)} (quote it with a backslash)`);
  }
  let start = 0;
  let end = chars.length;
  let lead: CpeWildcard = 0;
  let trail: CpeWildcard = 0;
  if (chars[0]?.wild && chars[0].c === '*') {
    lead = '*';
    start = 1;
  } else {
    while (start < end && chars[start]!.wild && chars[start]!.c === '?') start++;
    lead = start;
  }
  if (end > start && chars[end - 1]!.wild && chars[end - 1]!.c === '*') {
    trail = '*';
    end--;
  } else {
    let n = 0;
    while (end > start && chars[end - 1]!.wild && chars[end - 1]!.c === '?') {
      end--;
      n++;
    }
    trail = n;
  }
  let text = '';
  for (let i = start; i < end; i++) {
    const ch = chars[i]!;
    if (ch.wild) throw bad(name, `${attr} has a wildcard ${JSON.stringify(ch.c)} inside the value (only at either end, IR 7695 §5.3.2)`);
    text += ch.c.toLowerCase();
  }
  if (attr === 'part' && !(text === 'a' || text === 'o' || text === 'h') ) throw bad(name, 'part must be a, o, h or *');
  if (attr === 'part' && (lead !== 0 || trail !== 0)) throw bad(name, 'part cannot hold wildcards');
  return { kind: 'value', text, lead, trail };
}

/**
 * Parse a CPE 2.3 formatted string. Missing trailing components are read as ANY (as NVD's API
 * accepts prefixes); more than eleven attributes, bad escapes and inner wildcards throw E_CPE.
 */
export function parseCpe(name: string): Cpe {
  const hit = parsed.get(name);
  if (hit) return hit;
  const c = parseUncached(name);
  // Names repeat (one hardware platform in many CVEs): keep a bounded memo of parsed names.
  if (parsed.size >= 100_000) parsed.clear();
  parsed.set(name, c);
  return c;
}

const parsed = new Map<string, Cpe>();

function parseUncached(name: string): Cpe {
  if (typeof name !== 'string') throw bad(String(name), 'not a string');
  if (name.length > maxLength) throw bad(name, `longer than ${maxLength} characters`);
  if (!/^cpe:2\.3:/i.test(name)) throw bad(name, 'does not start with "cpe:2.3:"');
  const comps = splitComponents(name.slice(8));
  if (comps.length > cpeAttributes.length) throw bad(name, `has ${comps.length} attributes, at most 11`);
  const out: Partial<Record<CpeAttribute, CpeValue>> = {};
  cpeAttributes.forEach((attr, i) => {
    out[attr] = parseValue(comps[i] ?? '*', name, attr);
  });
  return Object.freeze(out) as Cpe;
}

/** parseCpe, or undefined instead of throwing (for device input). */
export function tryParseCpe(name: string): Cpe | undefined {
  try {
    return parseCpe(name);
  } catch {
    return undefined;
  }
}

function wild(w: CpeWildcard): string {
  return w === '*' ? '*' : '?'.repeat(w);
}

/** Bind one value to its formatted-string form (IR 7695 §6.2.2: quote every non-alphanumeric but `_`, `-`, `.`). */
export function formatValue(v: CpeValue): string {
  if (v.kind === 'any') return '*';
  if (v.kind === 'na') return '-';
  let body = '';
  for (const c of v.text) body += /[a-z0-9._\-]/.test(c) ? c : `\\${c}`;
  if (body === '-' && v.lead === 0 && v.trail === 0) body = '\\-'; // a literal "-" is not NA
  if (body === '' && v.lead === 0 && v.trail === 0) return '*';
  return wild(v.lead) + body + wild(v.trail);
}

/** Bind a WFN to its CPE 2.3 formatted string. */
export function formatCpe(cpe: Cpe): string {
  return `cpe:2.3:${cpeAttributes.map((a) => formatValue(cpe[a])).join(':')}`;
}

/** Make a value from plain text (no wildcards): lowercased, or ANY/NA for "*"/"-"/empty. */
export function literalValue(text: string | null | undefined): CpeValue {
  if (text === null || text === undefined || text === '' || text === '*') return ANY;
  if (text === '-') return NA;
  return { kind: 'value', text: text.toLowerCase(), lead: 0, trail: 0 };
}

function hasWildcards(v: CpeValue): boolean {
  return v.kind === 'value' && (v.lead !== 0 || v.trail !== 0);
}

/** Does a value with end wildcards match a literal text (IR 7696 §6.1.3.2 compareStrings)? */
function wildMatches(src: { text: string; lead: CpeWildcard; trail: CpeWildcard }, target: string): boolean {
  const n = src.text.length;
  let from = 0;
  for (;;) {
    const at = target.indexOf(src.text, from);
    if (at < 0) return false;
    const leftover = target.length - at - n;
    const leadOk = src.lead === '*' || at <= src.lead;
    if (!leadOk) return false; // later positions only grow
    if (src.trail === '*' || leftover <= src.trail) return true;
    from = at + 1;
    if (from > target.length) return false;
  }
}

/** Compare one source attribute value with a target value (IR 7696 Table 6-2). */
export function compareAttribute(source: CpeValue, target: CpeValue): CpeRelation {
  if (hasWildcards(target)) return 'undefined'; // rows 4, 8, 13, 18
  if (source.kind === 'any') return target.kind === 'any' ? 'equal' : 'superset';
  if (source.kind === 'na') return target.kind === 'any' ? 'subset' : target.kind === 'na' ? 'equal' : 'disjoint';
  if (target.kind === 'any') return 'subset';
  if (target.kind === 'na') return 'disjoint';
  if (hasWildcards(source)) return wildMatches(source, target.text) ? 'superset' : 'disjoint';
  return source.text === target.text ? 'equal' : 'disjoint';
}

/** Compare two names: the relation holding over all attributes (IR 7696 §6.2), or 'undefined'. */
export function compareCpe(source: Cpe, target: Cpe): CpeRelation {
  let all: CpeRelation = 'equal';
  for (const a of cpeAttributes) {
    const r = compareAttribute(source[a], target[a]);
    if (r === 'disjoint') return 'disjoint';
    if (r === 'undefined') all = 'undefined';
    else if (r !== 'equal' && all !== 'undefined') all = all === 'equal' || all === r ? r : 'undefined';
  }
  return all;
}

/** IR 7696 CPE_SUPERSET/CPE_EQUAL: does `source` (e.g. an applicability statement) match `target`? */
export function cpeMatches(source: Cpe, target: Cpe): boolean {
  const r = compareCpe(source, target);
  return r === 'equal' || r === 'superset';
}

/** The plain text of a value, or null for ANY/NA/wildcarded values. */
export function valueText(v: CpeValue): string | null {
  return v.kind === 'value' && v.lead === 0 && v.trail === 0 ? v.text : null;
}

/** Index key "part:vendor:product" of a name, or null when one of them is not a plain literal. */
export function cpeKey(c: Cpe): string | null {
  const p = valueText(c.part);
  const v = valueText(c.vendor);
  const pr = valueText(c.product);
  return p !== null && v !== null && pr !== null ? `${p}:${v}:${pr}` : null;
}

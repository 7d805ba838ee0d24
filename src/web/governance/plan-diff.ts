/**
 * What changed between two survey plan versions: a structured diff (ports, modules, ID/password
 * list, rate, and every other changed field by path) and a line diff of the canonical JSON. Pure
 * functions over stored plan bodies, shared by /ops/plans/diff and `iotclean plan diff`.
 */

export interface PortEntry {
  readonly port: number;
  readonly service: string;
  readonly reason: string;
}

export interface FieldChange {
  /** e.g. "access.pauseMs", "grab.concurrency", "description". */
  readonly path: string;
  readonly from: unknown;
  readonly to: unknown;
}

export interface PlanDiff {
  readonly ports: { readonly added: readonly PortEntry[]; readonly removed: readonly PortEntry[]; readonly changed: readonly { readonly port: number; readonly from: PortEntry; readonly to: PortEntry }[] };
  readonly modules: { readonly added: readonly string[]; readonly removed: readonly string[]; readonly reordered: boolean };
  /** The ID/password list named or pinned differently; null when the same. */
  readonly dictionary: { readonly from: DictionaryPin | null; readonly to: DictionaryPin | null } | null;
  readonly rate: { readonly from: unknown; readonly to: unknown } | null;
  /** Every other changed leaf, by path. */
  readonly other: readonly FieldChange[];
  /** True when the two bodies are the same. */
  readonly same: boolean;
}

export interface DictionaryPin {
  readonly dictionary: string;
  readonly digest: string | null;
}

export type LineOp = { readonly op: ' ' | '-' | '+'; readonly text: string };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const get = (o: unknown, k: string): unknown => (isObj(o) ? o[k] : undefined);

function portsOf(body: unknown): PortEntry[] {
  const list = get(body, 'ports');
  if (!Array.isArray(list)) return [];
  return list.filter(isObj).map((p) => ({ port: Number(p['port']), service: String(p['service'] ?? ''), reason: String(p['reason'] ?? '') }));
}

function modulesOf(body: unknown): string[] {
  const m = get(body, 'modules');
  return Array.isArray(m) ? m.map(String) : [];
}

function pinOf(body: unknown): DictionaryPin | null {
  const a = get(body, 'access');
  if (!isObj(a)) return null;
  return { dictionary: String(a['dictionary'] ?? ''), digest: typeof a['dictionaryDigest'] === 'string' ? a['dictionaryDigest'] : null };
}

/** Paths the structured part reports itself; `other` lists everything else. */
const covered = new Set(['ports', 'modules', 'rate', 'access.dictionary', 'access.dictionaryDigest']);

function leaves(v: unknown, path: string, out: Map<string, unknown>): void {
  if (covered.has(path)) return;
  if (isObj(v)) {
    for (const k of Object.keys(v).sort()) leaves(v[k], path ? `${path}.${k}` : k, out);
    if (Object.keys(v).length === 0 && path) out.set(path, {});
  } else if (Array.isArray(v)) {
    // Arrays other than ports and modules are compared whole.
    out.set(path, v);
  } else out.set(path, v);
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

export function diffPlans(a: unknown, b: unknown): PlanDiff {
  const pa = portsOf(a);
  const pb = portsOf(b);
  const byPort = (l: PortEntry[]) => new Map(l.map((p) => [p.port, p]));
  const ma = byPort(pa);
  const mb = byPort(pb);
  const ports = {
    added: pb.filter((p) => !ma.has(p.port)),
    removed: pa.filter((p) => !mb.has(p.port)),
    changed: pb.filter((p) => ma.has(p.port) && !same(ma.get(p.port), p)).map((p) => ({ port: p.port, from: ma.get(p.port)!, to: p })),
  };
  const moda = modulesOf(a);
  const modb = modulesOf(b);
  const added = modb.filter((m) => !moda.includes(m));
  const removed = moda.filter((m) => !modb.includes(m));
  const kept = (l: string[], other: string[]) => l.filter((m) => other.includes(m));
  const modules = { added, removed, reordered: !same(kept(moda, modb), kept(modb, moda)) };
  const da = pinOf(a);
  const db = pinOf(b);
  const dictionary = same(da, db) ? null : { from: da, to: db };
  const rate = same(get(a, 'rate'), get(b, 'rate')) ? null : { from: get(a, 'rate') ?? null, to: get(b, 'rate') ?? null };
  const la = new Map<string, unknown>();
  const lb = new Map<string, unknown>();
  leaves(a, '', la);
  leaves(b, '', lb);
  const paths = [...new Set([...la.keys(), ...lb.keys()])].sort();
  const other = paths.filter((p) => !same(la.get(p), lb.get(p))).map((p) => ({ path: p, from: la.get(p) ?? null, to: lb.get(p) ?? null }));
  return { ports, modules, dictionary, rate, other, same: same(canonicalLines(a), canonicalLines(b)) };
}

/** Pretty canonical JSON (keys sorted, two-space indent): the text the line diff compares. */
export function canonicalLines(v: unknown): string[] {
  const sort = (x: unknown): unknown => (Array.isArray(x) ? x.map(sort) : isObj(x) ? Object.fromEntries(Object.keys(x).sort().map((k) => [k, sort(x[k])])) : x);
  return JSON.stringify(sort(v), null, 2).split('\n');
}

/** Plans are short; longer inputs are cut so the LCS table stays small (4 M cells at most). */
const maxLines = 2000;

/** A line diff (longest common subsequence), in order: kept, removed and added lines. */
export function lineDiff(a: readonly string[], b: readonly string[]): LineOp[] {
  const x = a.slice(0, maxLines);
  const y = b.slice(0, maxLines);
  const n = x.length;
  const m = y.length;
  // lcs[i][j] = LCS length of x[i..] and y[j..], in one flat array.
  const w = m + 1;
  const lcs = new Uint16Array((n + 1) * w);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * w + j] = x[i] === y[j] ? lcs[(i + 1) * w + j + 1]! + 1 : Math.max(lcs[(i + 1) * w + j]!, lcs[i * w + j + 1]!);
    }
  }
  const out: LineOp[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (x[i] === y[j]) {
      out.push({ op: ' ', text: x[i]! });
      i++;
      j++;
    } else if (lcs[(i + 1) * w + j]! >= lcs[i * w + j + 1]!) out.push({ op: '-', text: x[i++]! });
    else out.push({ op: '+', text: y[j++]! });
  }
  while (i < n) out.push({ op: '-', text: x[i++]! });
  while (j < m) out.push({ op: '+', text: y[j++]! });
  return out;
}

/** Only the changed lines with `context` kept lines around each, as unified diff hunks ("@@" separators). */
export function hunks(ops: readonly LineOp[], context = 3): LineOp[] {
  const keep = new Array<boolean>(ops.length).fill(false);
  ops.forEach((o, k) => {
    if (o.op !== ' ') for (let d = -context; d <= context; d++) if (k + d >= 0 && k + d < ops.length) keep[k + d] = true;
  });
  const out: LineOp[] = [];
  let gap = false;
  ops.forEach((o, k) => {
    if (keep[k]) {
      if (gap && out.length) out.push({ op: ' ', text: '@@' });
      gap = false;
      out.push(o);
    } else gap = true;
  });
  return out;
}

const show = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v) ?? 'null');

/** The diff as plain text lines (the CLI's output). */
export function formatPlanDiff(d: PlanDiff): string[] {
  if (d.same) return ['the two plan versions are the same'];
  const lines: string[] = [];
  for (const p of d.ports.added) lines.push(`+ port ${p.port}/tcp ${p.service}: ${p.reason}`);
  for (const p of d.ports.removed) lines.push(`- port ${p.port}/tcp ${p.service}: ${p.reason}`);
  for (const c of d.ports.changed) lines.push(`~ port ${c.port}/tcp: ${c.from.service} "${c.from.reason}" → ${c.to.service} "${c.to.reason}"`);
  for (const m of d.modules.added) lines.push(`+ module ${m}`);
  for (const m of d.modules.removed) lines.push(`- module ${m}`);
  if (d.modules.reordered) lines.push('~ modules reordered');
  if (d.dictionary) {
    const pin = (p: DictionaryPin | null) => (p ? `${p.dictionary} (${p.digest ? `${p.digest.slice(0, 16)}…` : 'not pinned'})` : 'none (no access block)');
    lines.push(`~ ID/password list: ${pin(d.dictionary.from)} → ${pin(d.dictionary.to)}`);
  }
  if (d.rate) lines.push(`~ rate: ${show(d.rate.from)} → ${show(d.rate.to)} probes/s`);
  for (const o of d.other) lines.push(`~ ${o.path}: ${show(o.from)} → ${show(o.to)}`);
  return lines;
}

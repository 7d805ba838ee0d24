/**
 * Prefix → ISP attribution: which ISP a finding's address belongs to, and who gets the notice.
 *
 * Table file (CSV, UTF-8, one header line, `#` lines are comments, fields may be double-quoted
 * with "" for a quote inside):
 *
 *     prefix,isp_id,name,participating,parent
 *     127.16.0.0/12,wholesale,"Wholesale Net, Inc.",yes,
 *     127.17.0.0/16,reseller,リセラー光,no,wholesale
 *
 * An ISP may own many prefixes (one row each, with the same name/participating/parent). Prefixes
 * may nest; an address belongs to the longest prefix containing it. For lookups the nesting is
 * flattened into sorted disjoint intervals (Uint32Array starts, Int32Array owner), so one lookup is
 * one binary search with no allocation.
 *
 * Notification rule (effectiveIsp): notify the ISP itself if it participates; otherwise walk up its
 * wholesale parents and notify the first one that participates (the wholesaler carries the
 * reseller's traffic and has an agreement with it); if none does, nobody is notified (undefined).
 */
import { IotcleanError } from '../core/errors.js';
import { csvField, splitCsvLine } from '../core/csv.js';
import { readInputFile } from '../core/files.js';
import { formatIpv4, parseIpv4, rangePrefixLength, type Ipv4Range } from '../core/ip.js';
import { parseTarget } from './target.js';

/** One ISP, as named in the table. */
export interface Isp {
  readonly id: string;
  readonly name: string;
  /** Whether the ISP takes part in the programme and receives notifications. */
  readonly participating: boolean;
  /** isp_id of the wholesale parent, when this ISP resells its lines. */
  readonly parent?: string;
}

/** One row of the table: a prefix and the ISP it belongs to. */
export interface IspRow {
  /** CIDR block, e.g. "127.1.0.0/16" (no host bits set). */
  readonly prefix: string;
  readonly ispId: string;
  readonly name: string;
  readonly participating: boolean;
  readonly parent?: string;
  /** 1-based line in the file the row came from, for error messages. */
  readonly line?: number;
}

/** A compiled table. */
export interface IspTable {
  readonly source: string;
  readonly rows: readonly IspRow[];
  /** Every ISP, in order of first appearance. */
  readonly isps: readonly Isp[];
  /** Longest-prefix match for an unsigned 32-bit address; undefined when no prefix covers it. */
  lookup(ip: number): Isp | undefined;
  /** Same for a strict dotted quad; undefined also for text that is not one. */
  lookupText(ip: string): Isp | undefined;
  /** The ISP with this id. */
  ispById(id: string): Isp | undefined;
  /** The prefixes an ISP owns, as written in the table. */
  prefixesOf(ispId: string): readonly string[];
  /** Who is notified for findings in this ISP's space (see the module comment), or undefined. */
  effectiveIsp(isp: Isp): Isp | undefined;
}

/** The table's header line, column by column. */
export const ISP_HEADER = ['prefix', 'isp_id', 'name', 'participating', 'parent'] as const;
const ISP_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const YES = new Set(['yes', 'true']);
const NO = new Set(['no', 'false']);

/** Parse table text into rows; syntax errors name the file and line. Use compileIspTable to check meaning. */
export function parseIspRows(text: string, fileName: string): IspRow[] {
  const rows: IspRow[] = [];
  let sawHeader = false;
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = i + 1;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const split = splitCsvLine(raw);
    if ('problem' in split) throw ispError(split.problem, fileName, line, split.hint);
    const fields = split.fields;
    if (!sawHeader) {
      if (fields.length !== ISP_HEADER.length || fields.some((f, k) => f !== ISP_HEADER[k])) {
        throw ispError(`expected the header "${ISP_HEADER.join(',')}", found "${trimmed}"`, fileName, line);
      }
      sawHeader = true;
      return;
    }
    if (fields.length !== ISP_HEADER.length) {
      throw ispError(`expected ${ISP_HEADER.length} columns, found ${fields.length}`, fileName, line, `columns are ${ISP_HEADER.join(',')}; quote a name that contains a comma`);
    }
    const [prefix, ispId, name, participatingText, parent] = fields as [string, string, string, string, string];
    const flag = participatingText.toLowerCase();
    if (!YES.has(flag) && !NO.has(flag)) {
      throw ispError(`participating must be yes/no/true/false, found "${participatingText}"`, fileName, line);
    }
    rows.push({
      prefix,
      ispId,
      name,
      participating: YES.has(flag),
      ...(parent === '' ? {} : { parent }),
      line,
    });
  });
  if (!sawHeader) throw ispError('the table is empty: no header line', fileName, undefined, `start with "${ISP_HEADER.join(',')}"`);
  return rows;
}

/** Parse and compile table text. */
export function parseIspTable(text: string, fileName: string): IspTable {
  return compileIspTable(parseIspRows(text, fileName), fileName);
}

/** Read, parse and compile a table file; a read failure is an E_ISP_FILE naming the file. */
export async function loadIspTable(path: string): Promise<IspTable> {
  const text = await readInputFile(path, { code: 'E_ISP_FILE', name: 'prefix-to-ISP table', hint: 'give the path of a readable CSV file' });
  return parseIspTable(text, path);
}

/** Write rows as table CSV; the output parses back to the same rows (without line numbers). */
export function formatIspTable(rows: readonly IspRow[]): string {
  const out = [ISP_HEADER.join(',')];
  for (const r of rows) {
    const fields = [r.prefix, r.ispId, r.name, r.participating ? 'yes' : 'no', r.parent ?? ''];
    for (const f of fields) {
      if (/[\r\n]/.test(f)) throw ispError(`line break in field ${JSON.stringify(f)}`, undefined, undefined);
    }
    out.push(fields.map(csvField).join(','));
  }
  return `${out.join('\n')}\n`;
}

/**
 * Check rows (prefix syntax, duplicates, consistent ISP fields, known acyclic parents) and build
 * the lookup structure. Errors carry the row's line when it has one.
 */
export function compileIspTable(rows: readonly IspRow[], source = 'ISP table'): IspTable {
  const isps: Isp[] = [];
  const ispIndex = new Map<string, number>();
  const firstRowOf = new Map<string, IspRow>();
  const prefixes: { range: Ipv4Range; len: number; owner: number }[] = [];
  const seenPrefix = new Map<number, IspRow>(); // key: start * 64 + len (exact in a double)
  const prefixesByIsp = new Map<string, string[]>();

  for (const row of rows) {
    const fail = (message: string, hint?: string): IotcleanError => ispError(message, source, row.line, hint);
    const parsed = parseTarget(row.prefix);
    if (!parsed.ok) throw fail(`bad prefix: ${parsed.message}`, parsed.hint);
    const len = rangePrefixLength(parsed.range);
    if (parsed.form !== 'cidr' || len === undefined) {
      throw fail(`bad prefix "${row.prefix}": write a CIDR block`, `e.g. ${formatIpv4(parsed.range.start)}/32 for one address`);
    }
    const key = parsed.range.start * 64 + len;
    const dup = seenPrefix.get(key);
    if (dup) throw fail(`duplicate prefix ${row.prefix}${dup.line ? ` (first at line ${dup.line})` : ''}`);
    seenPrefix.set(key, row);

    if (!ISP_ID.test(row.ispId)) {
      throw fail(`bad isp_id "${row.ispId}"`, 'use letters, digits, "_", "." and "-", starting with a letter or digit');
    }
    if (row.name.trim() === '') throw fail(`ISP ${row.ispId} has an empty name`);
    if (/[\r\n]/.test(row.name)) throw fail(`ISP ${row.ispId}'s name contains a line break`);
    if (row.parent !== undefined && row.parent === row.ispId) throw fail(`ISP ${row.ispId} names itself as its parent`);

    let owner = ispIndex.get(row.ispId);
    if (owner === undefined) {
      owner = isps.length;
      ispIndex.set(row.ispId, owner);
      firstRowOf.set(row.ispId, row);
      isps.push(Object.freeze({
        id: row.ispId,
        name: row.name,
        participating: row.participating,
        ...(row.parent === undefined ? {} : { parent: row.parent }),
      }));
    } else {
      const first = isps[owner] as Isp;
      const at = firstRowOf.get(row.ispId)?.line;
      const where = at ? ` at line ${at}` : '';
      if (first.name !== row.name || first.participating !== row.participating || first.parent !== row.parent) {
        throw fail(
          `ISP ${row.ispId} is described differently${where}`,
          'every row of one isp_id must repeat the same name, participating and parent',
        );
      }
    }
    prefixes.push({ range: parsed.range, len, owner });
    const list = prefixesByIsp.get(row.ispId);
    if (list) list.push(row.prefix);
    else prefixesByIsp.set(row.ispId, [row.prefix]);
  }

  // Parents must exist, and following them must end (a cycle would make effectiveIsp loop).
  for (const isp of isps) {
    if (isp.parent !== undefined && !ispIndex.has(isp.parent)) {
      throw ispError(`unknown parent "${isp.parent}" for ISP ${isp.id}`, source, firstRowOf.get(isp.id)?.line, 'a parent must be an isp_id that has its own rows');
    }
  }
  for (const isp of isps) {
    const seen = new Set<string>([isp.id]);
    for (let p = isp.parent; p !== undefined; p = isps[ispIndex.get(p) as number]?.parent) {
      if (seen.has(p)) {
        throw ispError(`parent chain of ISP ${isp.id} loops back to ${p}`, source, firstRowOf.get(isp.id)?.line);
      }
      seen.add(p);
    }
  }

  const { starts, owners } = flatten(prefixes);
  const count = starts.length;
  const frozenIsps = Object.freeze(isps);

  const lookup = (ip: number): Isp | undefined => {
    if (ip >>> 0 !== ip) return undefined;
    // Largest i with starts[i] <= ip; starts[0] is 0, so one always exists.
    let lo = 0;
    let hi = count - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if ((starts[mid] as number) <= ip) lo = mid;
      else hi = mid - 1;
    }
    const owner = owners[lo] as number;
    return owner < 0 ? undefined : frozenIsps[owner];
  };

  const ispById = (id: string): Isp | undefined => {
    const i = ispIndex.get(id);
    return i === undefined ? undefined : frozenIsps[i];
  };

  return {
    source,
    rows: Object.freeze(rows.map((r) => Object.freeze({ ...r }))),
    isps: frozenIsps,
    lookup,
    lookupText: (ip) => {
      const n = parseIpv4(ip);
      return n === undefined ? undefined : lookup(n);
    },
    ispById,
    prefixesOf: (ispId) => Object.freeze([...(prefixesByIsp.get(ispId) ?? [])]),
    effectiveIsp: (isp) => {
      // Parent chains were checked acyclic above, so this walk ends.
      for (let cur = ispById(isp.id); cur !== undefined; cur = cur.parent === undefined ? undefined : ispById(cur.parent)) {
        if (cur.participating) return cur;
      }
      return undefined;
    },
  };
}

/**
 * Flatten nested prefixes into disjoint intervals: starts[i] begins an interval that runs to
 * starts[i+1] - 1 and belongs to owners[i] (-1: no ISP). CIDR blocks are either nested or
 * disjoint, so a sweep with a stack of open blocks gives each point its innermost (longest) block.
 */
function flatten(prefixes: readonly { range: Ipv4Range; len: number; owner: number }[]): { starts: Uint32Array; owners: Int32Array } {
  const sorted = [...prefixes].sort((a, b) => a.range.start - b.range.start || a.len - b.len);
  const starts: number[] = [];
  const owners: number[] = [];
  const emit = (start: number, owner: number): void => {
    if (start > 0xffffffff) return;
    const last = starts.length - 1;
    if (last >= 0 && starts[last] === start) {
      owners[last] = owner; // a zero-length interval is overwritten by the next one
      if (last >= 1 && owners[last - 1] === owner) {
        starts.pop();
        owners.pop();
      }
      return;
    }
    if (last >= 0 && owners[last] === owner) return; // same owner continues
    starts.push(start);
    owners.push(owner);
  };

  const stack: { end: number; owner: number }[] = [];
  emit(0, -1);
  for (const p of sorted) {
    // Close blocks that end before this one starts; the gap after each belongs to the block below.
    for (let top = stack[stack.length - 1]; top !== undefined && top.end < p.range.start; top = stack[stack.length - 1]) {
      stack.pop();
      emit(top.end + 1, stack[stack.length - 1]?.owner ?? -1);
    }
    emit(p.range.start, p.owner);
    stack.push({ end: p.range.end, owner: p.owner });
  }
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    emit(top.end + 1, stack[stack.length - 1]?.owner ?? -1);
  }
  return { starts: Uint32Array.from(starts), owners: Int32Array.from(owners) };
}

function ispError(message: string, file: string | undefined, line: number | undefined, hint?: string): IotcleanError {
  return new IotcleanError('E_ISP_FILE', message, { file, line, hint });
}

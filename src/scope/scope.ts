/**
 * The authorised scope: which addresses a survey may send anything to.
 *
 * Scope file, one directive a line, `#` starts a comment:
 *
 *     include 127.0.0.0/8          # CIDR, no host bits set
 *     exclude 127.0.0.1            # one address
 *     include 127.1.0.10-127.1.0.20  # inclusive range
 *     127.2.0.0/16                 # a bare target means include
 *
 * Exclusions always win, whatever the order of lines. The compiled form answers `allows(ip)` by
 * binary search over typed arrays held in a closure, so no caller can widen the set it checks; it is
 * frozen, and only this module can make one (see isCompiledScope).
 */
import { readFile } from 'node:fs/promises';
import { IotcleanError } from '../core/errors.js';
import { formatIpv4, type Ipv4Range } from '../core/ip.js';
import { indexRanges } from './range-index.js';
import { firstUncovered, intersectRanges, normaliseRanges, subtractRanges } from './range-set.js';
import { parseTarget } from './target.js';

/** A scope as written: what to include, what to exclude, and where it came from. */
export interface Scope {
  readonly includes: readonly Ipv4Range[];
  readonly excludes: readonly Ipv4Range[];
  /** File name, or a description such as "default". */
  readonly source: string;
}

/** Brand only this module can put on a value: the type checker refuses hand-made scopes. */
declare const compiledScopeBrand: unique symbol;

/**
 * The effective allowed set (includes minus excludes), ready for per-probe checks. Only
 * compileScope/restrictScope/reviveScope make one; the guard refuses anything else at run time.
 */
export interface CompiledScope {
  readonly [compiledScopeBrand]: true;
  readonly source: string;
  /** The scope this was compiled from (plain data, deep-frozen): what a worker thread revives. */
  readonly spec: Scope;
  /** Allowed addresses as sorted, disjoint, merged ranges. */
  readonly ranges: readonly Ipv4Range[];
  /** Merged includes before exclusions; tells "outside the scope" from "excluded". */
  readonly included: readonly Ipv4Range[];
  /** Number of allowed addresses. */
  readonly size: number;
  /** True when the address (an unsigned 32-bit integer) may be probed. Allocation-free. */
  allows(ip: number): boolean;
  /** The index-th allowed address in ascending order (0 ≤ index < size), for target permutations. */
  addressAt(index: number): number;
}

// Every scope this module built. A WeakSet cannot be forged or copied from outside, so a look-alike
// object (or a copy of a real one) fails isCompiledScope even when a cast fooled the type checker.
const issued = new WeakSet<object>();

/** True only for a scope built by this module (not a look-alike, not a copy). */
export function isCompiledScope(value: unknown): value is CompiledScope {
  return typeof value === 'object' && value !== null && issued.has(value);
}

/**
 * Rebuild a compiled scope from its `spec`, e.g. in a worker thread (branded values cannot cross
 * threads). It goes through compileScope, so it is never wider than compiling that scope file.
 */
export function reviveScope(spec: Scope): CompiledScope {
  const ok =
    typeof spec === 'object' && spec !== null && Array.isArray(spec.includes) && Array.isArray(spec.excludes) && typeof spec.source === 'string';
  if (!ok) throw new IotcleanError('E_SCOPE_FILE', 'cannot revive a scope from malformed data', { hint: 'pass CompiledScope.spec unchanged' });
  return compileScope(spec);
}

const DEFAULT_SOURCE = 'default scope (loopback 127.0.0.0/8 only)';

/** The scope used when no scope file is given: 127.0.0.0/8 and nothing else. */
export function defaultScope(): Scope {
  return { includes: [{ start: 0x7f000000, end: 0x7fffffff }], excludes: [], source: DEFAULT_SOURCE };
}

/** Parse scope-file text; every error names the file and line. */
export function parseScope(text: string, fileName: string): Scope {
  const includes: Ipv4Range[] = [];
  const excludes: Ipv4Range[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = i + 1;
    const hash = raw.indexOf('#');
    const body = (hash >= 0 ? raw.slice(0, hash) : raw).trim();
    if (body === '') return;
    const words = body.split(/\s+/);
    let keyword = 'include';
    let target: string;
    if (words.length === 1) {
      target = words[0] ?? '';
      if (target === 'include' || target === 'exclude') {
        throw scopeFileError(`"${target}" needs a target`, fileName, line, `write ${target} 127.0.0.0/8`);
      }
    } else if (words.length === 2 && (words[0] === 'include' || words[0] === 'exclude')) {
      keyword = words[0];
      target = words[1] ?? '';
    } else {
      throw scopeFileError(
        `cannot read "${body}"`,
        fileName,
        line,
        'each line is "include <target>", "exclude <target>" or a bare target; a target is a.b.c.d, a.b.c.d/n or a.b.c.d-e.f.g.h',
      );
    }
    const parsed = parseTarget(target);
    if (!parsed.ok) throw scopeFileError(parsed.message, fileName, line, parsed.hint);
    (keyword === 'include' ? includes : excludes).push(parsed.range);
  });
  if (includes.length === 0) {
    throw scopeFileError('scope file includes no addresses', fileName, undefined, 'add a line such as "include 127.0.0.0/8"');
  }
  const scope: Scope = { includes, excludes, source: fileName };
  if (compileScope(scope).size === 0) {
    throw scopeFileError('the exclusions remove every included address', fileName, undefined, 'check the exclude lines');
  }
  return scope;
}

/** Read and parse a scope file; a read failure is an E_SCOPE_FILE naming the file. */
export async function loadScope(path: string): Promise<Scope> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new IotcleanError('E_SCOPE_FILE', `cannot read scope file: ${why}`, {
      file: path,
      hint: 'give the path of a readable scope file',
    });
  }
  return parseScope(text, path);
}

/** Compute the allowed set (includes minus excludes, exclusions win) and build the fast check. */
export function compileScope(scope: Scope): CompiledScope {
  for (const r of [...scope.includes, ...scope.excludes]) checkRange(r, scope.source);
  const included = normaliseRanges(scope.includes);
  const allowed = subtractRanges(included, normaliseRanges(scope.excludes));
  return buildCompiled(scope, allowed, included);
}

/**
 * Narrow a compiled scope to the targets named on the command line (same target syntax as scope
 * lines). A target must lie inside the scope's includes, else E_SCOPE_DENIED naming it; excluded
 * addresses inside a target are dropped (exclusions win), and a target that is wholly excluded is
 * refused too. Malformed targets are E_ARGS.
 */
export function restrictScope(compiled: CompiledScope, targets: readonly string[]): CompiledScope {
  if (targets.length === 0) throw new IotcleanError('E_ARGS', 'no targets given', { hint: 'name at least one target' });
  const wanted: Ipv4Range[] = [];
  for (const t of targets) {
    const parsed = parseTarget(t);
    if (!parsed.ok) throw new IotcleanError('E_ARGS', `target ${parsed.message}`, { hint: parsed.hint });
    const outside = firstUncovered(compiled.included, parsed.range);
    if (outside !== undefined) {
      throw new IotcleanError(
        'E_SCOPE_DENIED',
        `target ${t} is outside the authorised scope (${formatIpv4(outside)} is not included by ${compiled.source})`,
        { hint: 'name targets inside the scope file, or survey with a scope file that authorises them' },
      );
    }
    if (intersectRanges(compiled.ranges, [parsed.range]).length === 0) {
      throw new IotcleanError('E_SCOPE_DENIED', `target ${t} is excluded by ${compiled.source}`, {
        hint: 'exclusions in the scope always win',
      });
    }
    wanted.push(parsed.range);
  }
  const union = normaliseRanges(wanted);
  const source = `${compiled.source} restricted to ${targets.join(', ')}`;
  return buildCompiled({ ...compiled.spec, includes: union, source }, intersectRanges(compiled.ranges, union), union);
}

/**
 * The guard's check for a textual host: returns the address as a number when it is a strict dotted
 * quad inside the scope, otherwise throws E_SCOPE_DENIED saying why (hostname, other spelling of an
 * address, IPv6 or IPv4-mapped IPv6, outside the scope, excluded).
 */
export function checkHost(compiled: CompiledScope, host: string): number {
  const parsed = parseTarget(host);
  if (!parsed.ok) throw new IotcleanError('E_SCOPE_DENIED', `host ${parsed.message}`, { hint: parsed.hint });
  if (parsed.form !== 'address') {
    throw new IotcleanError('E_SCOPE_DENIED', `host "${host}" is a ${parsed.form === 'cidr' ? 'CIDR block' : 'range'}, not one address`, {
      hint: 'give a single dotted-quad address',
    });
  }
  const ip = parsed.range.start;
  if (compiled.allows(ip)) return ip;
  const isIncluded = firstUncovered(compiled.included, parsed.range) === undefined;
  throw new IotcleanError(
    'E_SCOPE_DENIED',
    isIncluded ? `${host} is excluded by ${compiled.source}` : `${host} is outside the authorised scope (${compiled.source})`,
    { hint: 'only addresses the scope authorises are ever contacted' },
  );
}

function buildCompiled(spec: Scope, allowed: readonly Ipv4Range[], included: readonly Ipv4Range[]): CompiledScope {
  const index = indexRanges(allowed);
  const compiled = Object.freeze({
    source: spec.source,
    spec: deepFreeze(structuredClone(spec)),
    ranges: Object.freeze(allowed.map((r) => Object.freeze({ start: r.start, end: r.end }))),
    included: Object.freeze(included.map((r) => Object.freeze({ start: r.start, end: r.end }))),
    size: index.size,
    allows: index.has,
    addressAt: index.addressAt,
  }) as CompiledScope; // the brand is type-only; `issued` is what run-time checks trust
  issued.add(compiled);
  return compiled;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

function checkRange(r: Ipv4Range, source: string): void {
  const ok = r.start >>> 0 === r.start && r.end >>> 0 === r.end && r.start <= r.end;
  if (!ok) {
    throw new IotcleanError('E_SCOPE_FILE', `invalid range ${JSON.stringify(r)} in ${source}`, {
      hint: 'start and end are unsigned 32-bit integers with start ≤ end',
    });
  }
}

function scopeFileError(message: string, file: string, line: number | undefined, hint: string | undefined): IotcleanError {
  return new IotcleanError('E_SCOPE_FILE', message, { file, line, hint });
}

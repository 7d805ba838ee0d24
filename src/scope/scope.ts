/**
 * The authorised scope: which addresses a survey may send anything to.
 *
 * Scope file, one directive a line, `#` starts a comment:
 *
 *     include 127.0.0.0/8          # CIDR, no host bits set
 *     exclude 127.0.0.1            # one address
 *     include 127.1.0.10-127.1.0.20  # inclusive range
 *     127.2.0.0/16                 # a bare target means include
 *     allow-reserved 127.0.0.0/8   # lift (part of) one reserved block, see reserved.ts
 *
 * Reserved address space (IANA special-purpose ranges, multicast, broadcast; reserved.ts) is
 * removed from every scope unless an `allow-reserved` line lifts it, so this example needs its
 * `allow-reserved` line to reach anything at all. Exclusions always win, whatever the order of
 * lines, lifted ranges included. The compiled form answers `allows(ip)` by binary search over
 * typed arrays held in a closure, so no caller can widen the set it checks; it
 * is frozen, and only this module can make one (see isCompiledScope).
 */
import { IotcleanError } from '../core/errors.js';
import { readInputFile } from '../core/files.js';
import { formatIpv4, type Ipv4Range } from '../core/ip.js';
import { indexRanges } from './range-index.js';
import { firstUncovered, intersectRanges, normaliseRanges, subtractRanges } from './range-set.js';
import { blockedRanges, checkLift, reservedEntryOf, type ReservedEntry } from './reserved.js';
import { parseTarget } from './target.js';

/** A scope as written: what to include, what to exclude, and where it came from. */
export interface Scope {
  readonly includes: readonly Ipv4Range[];
  readonly excludes: readonly Ipv4Range[];
  /** Reserved ranges this scope lifts from the default blocklist (`allow-reserved` lines). */
  readonly allowReserved: readonly Ipv4Range[];
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
    typeof spec === 'object' && spec !== null && Array.isArray(spec.includes) && Array.isArray(spec.excludes) && Array.isArray(spec.allowReserved) && typeof spec.source === 'string';
  if (!ok) throw new IotcleanError('E_SCOPE_FILE', 'cannot revive a scope from malformed data', { hint: 'pass CompiledScope.spec unchanged' });
  return compileScope(spec);
}

const DEFAULT_SOURCE = 'default scope (loopback 127.0.0.0/8 only)';

/** The scope used when no scope file is given: 127.0.0.0/8 (lifted from the blocklist) and nothing else. */
export function defaultScope(): Scope {
  const loopback = { start: 0x7f000000, end: 0x7fffffff };
  return { includes: [loopback], excludes: [], allowReserved: [loopback], source: DEFAULT_SOURCE };
}

const KEYWORDS = ['include', 'exclude', 'allow-reserved'] as const;
type Keyword = (typeof KEYWORDS)[number];
const isKeyword = (w: string | undefined): w is Keyword => (KEYWORDS as readonly string[]).includes(w ?? '');

/** Parse scope-file text; every error names the file and line. */
export function parseScope(text: string, fileName: string): Scope {
  const includes: Ipv4Range[] = [];
  const excludes: Ipv4Range[] = [];
  const allowReserved: Ipv4Range[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = i + 1;
    const hash = raw.indexOf('#');
    const body = (hash >= 0 ? raw.slice(0, hash) : raw).trim();
    if (body === '') return;
    const words = body.split(/\s+/);
    let keyword: Keyword = 'include';
    let target: string;
    if (words.length === 1) {
      target = words[0] ?? '';
      if (isKeyword(target)) {
        throw scopeFileError(`"${target}" needs a target`, fileName, line, `write ${target} 127.0.0.0/8`);
      }
    } else if (words.length === 2 && isKeyword(words[0])) {
      keyword = words[0];
      target = words[1] ?? '';
    } else {
      throw scopeFileError(
        `cannot read "${body}"`,
        fileName,
        line,
        'each line is "include <target>", "exclude <target>", "allow-reserved <target>" or a bare target; a target is a.b.c.d, a.b.c.d/n or a.b.c.d-e.f.g.h',
      );
    }
    const parsed = parseTarget(target);
    if (!parsed.ok) throw scopeFileError(parsed.message, fileName, line, parsed.hint);
    if (keyword === 'allow-reserved') {
      const refused = checkLift(parsed.range);
      if (refused) throw scopeFileError(`allow-reserved: ${refused.message}`, fileName, line, refused.hint);
    }
    ({ include: includes, exclude: excludes, 'allow-reserved': allowReserved })[keyword].push(parsed.range);
  });
  if (includes.length === 0) {
    throw scopeFileError('scope file includes no addresses', fileName, undefined, 'add a line such as "include 127.0.0.0/8" (loopback also needs "allow-reserved 127.0.0.0/8")');
  }
  const scope: Scope = { includes, excludes, allowReserved, source: fileName };
  if (compileScope(scope).size === 0) {
    const notExcluded = subtractRanges(normaliseRanges(includes), normaliseRanges(excludes));
    if (notExcluded.length === 0) {
      throw scopeFileError('the exclusions remove every included address', fileName, undefined, 'check the exclude lines');
    }
    const first = reservedEntryOf(notExcluded[0]?.start ?? 0);
    throw scopeFileError(
      'the reserved-address blocklist removes every included address',
      fileName,
      undefined,
      first && !first.liftable
        ? `${first.cidr} (${first.name}, ${first.rfc}) is never a survey target`
        : first
        ? `${first.cidr} is reserved (${first.name}, ${first.rfc}); if this survey is meant to reach it, add "allow-reserved ${first.cidr}"`
        : 'see iotclean scope for the blocklist',
    );
  }
  return scope;
}

/** Read and parse a scope file; a read failure is an E_SCOPE_FILE naming the file. */
export async function loadScope(path: string): Promise<Scope> {
  const text = await readInputFile(path, { code: 'E_SCOPE_FILE', name: 'scope file', hint: 'give the path of a readable scope file' });
  return parseScope(text, path);
}

// What the blocklist still blocks for each compiled scope (after its lifts), so refusals can say
// "reserved" rather than "excluded". Kept beside the value, not in it, so the type stays as it is.
const blockedOf = new WeakMap<CompiledScope, readonly Ipv4Range[]>();

/** The reserved entry blocking `ip` in this scope, if the blocklist (not an exclude line) is why. */
function blockingEntry(compiled: CompiledScope, ip: number): ReservedEntry | undefined {
  const blocked = blockedOf.get(compiled);
  if (!blocked?.some((r) => r.start <= ip && ip <= r.end)) return undefined;
  return reservedEntryOf(ip);
}

/**
 * Compute the allowed set and build the fast check: includes, minus the reserved blocklist except
 * what the scope lifts, minus excludes (exclusions win, lifted ranges included).
 */
export function compileScope(scope: Scope): CompiledScope {
  for (const r of [...scope.includes, ...scope.excludes, ...scope.allowReserved]) checkRange(r, scope.source);
  const included = normaliseRanges(scope.includes);
  const blocked = blockedRanges(scope.allowReserved);
  const unreserved = subtractRanges(included, blocked);
  const allowed = subtractRanges(unreserved, normaliseRanges(scope.excludes));
  const compiled = buildCompiled(scope, allowed, included);
  blockedOf.set(compiled, blocked);
  return compiled;
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
      const reserved = blockingEntry(compiled, parsed.range.start);
      if (reserved) {
        throw new IotcleanError('E_SCOPE_DENIED', `target ${t} is reserved (${reserved.cidr} ${reserved.name}, ${reserved.rfc}) and ${compiled.source} does not lift it`, {
          hint: `if the survey is meant to reach it, add "allow-reserved ${reserved.cidr}" (or the part meant) to the scope file`,
        });
      }
      throw new IotcleanError('E_SCOPE_DENIED', `target ${t} is excluded by ${compiled.source}`, {
        hint: 'exclusions in the scope always win',
      });
    }
    wanted.push(parsed.range);
  }
  const union = normaliseRanges(wanted);
  const source = `${compiled.source} restricted to ${targets.join(', ')}`;
  const restricted = buildCompiled({ ...compiled.spec, includes: union, source }, intersectRanges(compiled.ranges, union), union);
  const blocked = blockedOf.get(compiled);
  if (blocked) blockedOf.set(restricted, blocked);
  return restricted;
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
  const reserved = isIncluded ? blockingEntry(compiled, ip) : undefined;
  const why = !isIncluded
    ? `${host} is outside the authorised scope (${compiled.source})`
    : reserved
      ? `${host} is reserved (${reserved.cidr} ${reserved.name}, ${reserved.rfc}) and ${compiled.source} does not lift it`
      : `${host} is excluded by ${compiled.source}`;
  throw new IotcleanError('E_SCOPE_DENIED', why, { hint: 'only addresses the scope authorises are ever contacted' });
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

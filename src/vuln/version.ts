/**
 * Firmware version strings, normalised so two of them can be ordered, or said not to be.
 *
 * Two schemes are recognised:
 * - **dotted**: an optional `v`/`version` prefix, a release of dot-separated numbers ("1.1.4",
 *   "15.03.05.19", "2.800.0000000.25"; leading zeros do not count, missing trailing parts are 0),
 *   then an optional qualifier made of words and numbers ("p18", "b01", "b", "beta2", ".R"), and an
 *   optional build stamp ("Build 20230219", "build230219", or a trailing number of 6+ digits after a
 *   word, as Dahua's ".r.210701").
 * - **vrp**: Huawei's VxxxRxxx[Cxx][SPCxxx][SPHxxx] ("V100R001C00SPC200"), ordered field by field,
 *   a missing field counting as 0.
 *
 * Ordering, dotted: the releases decide when they differ. With equal releases the qualifiers
 * decide: the same words in the same places are ordered by their numbers ("4.2.8p3" < "4.2.8p18",
 * "1.15b01" < "1.15b03"); against no qualifier, a pre-release word (alpha, beta, rc, pre, dev,
 * test) sorts before, a post-release word (p, patch, pl, sp, hotfix, fix, update, u) and a lone
 * letter ("3.4.14b", OpenSSL style) sort after, and a release marker (r, release, final, ga,
 * stable) is nothing; two lone letters are ordered alphabetically. Build stamps are compared only
 * when both sides have one: a bound without a build names the whole release; but after a
 * qualifier ("29.r.210630" against "29.R") the build is part of what was released, and a version
 * without it cannot be ordered against one with it.
 *
 * Everything else cannot be ordered: different schemes, a word whose meaning is ambiguous
 * ("1.15" vs "1.15b01": beta or build?), different words, a date against a release number, free
 * text. `compareVersions` then returns undefined, and the matcher says `unknown`: it never guesses.
 */

/** A version parsed by `parseVersion`. */
export type ParsedVersion =
  | {
      readonly scheme: 'dotted';
      readonly release: readonly number[];
      /** Qualifier tokens: words lowercased, numbers as numbers. */
      readonly qualifier: readonly (string | number)[];
      readonly build: number | null;
      /** The build is a date trailing a word ("….r.210701"): part of the version's identity. */
      readonly dated?: boolean;
    }
  | { readonly scheme: 'vrp'; readonly fields: readonly number[] };

const maxLength = 128;
const preWords = new Set(['alpha', 'beta', 'rc', 'pre', 'dev', 'test', 'preview', 'snapshot']);
const postWords = new Set(['p', 'patch', 'pl', 'sp', 'hotfix', 'fix', 'update', 'u', 'post', 'rev']);
const markerWords = new Set(['r', 'release', 'final', 'ga', 'stable']);

/** Parse a version string into one of the schemes above, or undefined when it fits neither. */
export function parseVersion(input: string): ParsedVersion | undefined {
  if (typeof input !== 'string' || input.length === 0 || input.length > maxLength) return undefined;
  let s = input.trim().toLowerCase();
  const vrp = /^v(\d{1,4})r(\d{1,4})(?:c(\d{1,4}))?(?:spc(\d{1,4}))?(?:sph(\d{1,4}))?(?:b(\d{1,4}))?$/.exec(s);
  if (vrp) return { scheme: 'vrp', fields: vrp.slice(1).map((x) => (x === undefined ? 0 : Number(x))) };
  s = s.replace(/^(?:version|ver\.?|v)\s*(?=\d)/, '');
  let build: number | null = null;
  const b = /[\s._-]*\(?\s*(?:build|bld)[\s.:_-]*(\d{1,14})\s*\)?$/.exec(s);
  if (b) {
    build = Number(b[1]);
    s = s.slice(0, b.index);
  }
  const rel = /^\d{1,12}(?:\.\d{1,12})*/.exec(s);
  if (!rel) return undefined;
  const release = rel[0].split('.').map(Number);
  const rest = s.slice(rel[0].length);
  if (rest !== '' && !/^[a-z0-9._\-+ ]*$/.test(rest)) return undefined;
  const qualifier: (string | number)[] = [];
  for (const m of rest.matchAll(/([a-z]+)|(\d+)/g)) qualifier.push(m[1] ?? Number(m[2]));
  // A trailing long number after a word is a build date (Dahua "….r.210701").
  const last = qualifier[qualifier.length - 1];
  let dated = false;
  if (build === null && typeof last === 'number' && qualifier.length >= 2 && typeof qualifier[qualifier.length - 2] === 'string') {
    const digits = /(\d+)\D*$/.exec(rest)?.[1] ?? '';
    if (digits.length >= 6) {
      build = last;
      dated = true;
      qualifier.pop();
    }
  }
  // A lone letter counts as a suffix only right after the digits ("3.4.14b", not "1.0.x").
  if (qualifier.length === 1 && typeof qualifier[0] === 'string' && qualifier[0].length === 1 && !/^[a-z]/.test(rest)) qualifier[0] = `.${qualifier[0]}`;
  // A lone trailing release marker means nothing ("V2.800.0000000.25.R").
  if (qualifier.length === 1 && typeof qualifier[0] === 'string' && markerWords.has(qualifier[0].replace(/^\./, ''))) qualifier.pop();
  if (qualifier.length > 8) return undefined;
  return dated ? { scheme: 'dotted', release, qualifier, build, dated } : { scheme: 'dotted', release, qualifier, build };
}

type Order = -1 | 0 | 1;
const sign = (d: number): Order => (d < 0 ? -1 : d > 0 ? 1 : 0);

function compareNumbers(a: readonly number[], b: readonly number[]): Order {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return sign(d);
  }
  return 0;
}

/** How a qualifier stands against no qualifier: -1 before, 1 after, 0 the same, undefined unknown. */
function againstNone(q: readonly (string | number)[]): Order | undefined {
  const w = q[0];
  if (typeof w !== 'string') return undefined; // "1.2-3": a number after the release, meaning unclear
  if (q.length === 1 && w.length === 1 && !preWords.has(w) && !markerWords.has(w)) return 1; // 3.4.14b
  if (preWords.has(w)) return -1;
  if (postWords.has(w)) return 1;
  if (markerWords.has(w)) return q.length === 1 ? 0 : undefined;
  return undefined;
}

function isDate(n: number): boolean {
  return n >= 19000101 && n <= 29991231;
}

function compareQualifiers(a: readonly (string | number)[], b: readonly (string | number)[]): Order | undefined {
  if (a.length === 0 && b.length === 0) return 0;
  if (a.length === 0) {
    const r = againstNone(b);
    return r === undefined ? undefined : ((-r) as Order);
  }
  if (b.length === 0) return againstNone(a);
  // Same shape: words equal in place, numbers compared.
  if (a.length === b.length && a.every((t, i) => typeof t === typeof b[i] && (typeof t === 'number' || t === b[i]))) {
    for (let i = 0; i < a.length; i++) {
      const x = a[i]!;
      const y = b[i]!;
      if (typeof x === 'number' && typeof y === 'number' && x !== y) return sign(x - y);
    }
    return 0;
  }
  const wa = a[0];
  const wb = b[0];
  // Two lone letters (OpenSSL style "1.0.2k" vs "1.0.2m").
  if (a.length === 1 && b.length === 1 && typeof wa === 'string' && typeof wb === 'string' && wa.length === 1 && wb.length === 1) {
    return sign(wa.localeCompare(wb));
  }
  // A pre-release word against a post-release word.
  if (typeof wa === 'string' && typeof wb === 'string') {
    const ca = preWords.has(wa) ? -1 : postWords.has(wa) ? 1 : undefined;
    const cb = preWords.has(wb) ? -1 : postWords.has(wb) ? 1 : undefined;
    if (ca !== undefined && cb !== undefined && ca !== cb ) return sign(ca - cb);
  }
  return undefined;
}

/** Order two parsed versions, or undefined when they cannot be ordered (see the module comment). */
export function compareParsed(a: ParsedVersion, b: ParsedVersion): Order | undefined {
  if (a.scheme === 'vrp' || b.scheme === 'vrp') {
    return a.scheme === 'vrp' && b.scheme === 'vrp' ? compareNumbers(a.fields, b.fields) : undefined;
  }
  const a0 = a.release[0] ?? 0;
  const b0 = b.release[0] ?? 0;
  if (isDate(a0) !== isDate(b0)) return undefined; // a build date is no release number
  const r = compareNumbers(a.release, b.release);
  if (r !== 0) return r;
  const q = compareQualifiers(a.qualifier, b.qualifier);
  if (q !== 0) return q;
  if (a.build !== null && b.build !== null) return sign(a.build - b.build);
  // One names a build the other lacks. A "Build N" stamp only refines a release ("1.1.4" against
  // "1.1.4 Build 20230219": the same release). A date trailing a word (Dahua's
  // "2.800.0000000.29.R" against "…29.r.210630") is part of what is released, and
  // a version without it could be before or after: say so rather than guess.
  if ((a.build === null && b.dated) || (b.build === null && a.dated)) return undefined;
  return 0;
}

const cache = new Map<string, ParsedVersion | null>();

/** parseVersion with a bounded memo (matching compares the same bounds many times). */
export function parseVersionCached(s: string): ParsedVersion | undefined {
  const hit = cache.get(s);
  if (hit !== undefined) return hit ?? undefined;
  const p = parseVersion(s) ?? null;
  if (cache.size > 200_000) cache.clear();
  cache.set(s, p);
  return p ?? undefined;
}

/**
 * Order two version strings: -1 (a before b), 0 (same), 1 (a after b), or undefined when they
 * cannot be ordered. Identical strings (case-insensitive) are always 0.
 */
export function compareVersions(a: string, b: string): -1 | 0 | 1 | undefined {
  if (a.trim().toLowerCase() === b.trim().toLowerCase() && a.length <= maxLength) return 0;
  const pa = parseVersionCached(a);
  const pb = parseVersionCached(b);
  if (!pa || !pb) return undefined;
  return compareParsed(pa, pb);
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

/**
 * Recog (rapid7/recog, BSD-2-Clause) as an iotclean rule source. Every *.xml database in the
 * operator's folder is read (xml.ts), every pattern converted from Ruby to JavaScript once
 * (regex.ts), and `match` behaves like Recog::Nizer.match on one database key: the fingerprints of
 * the files for that key, in file order, and the first that matches wins. Params follow
 * Recog::Fingerprint#match: pos N takes capture N, pos 0 a constant whose `{other.param}` parts are
 * filled in, and the file's protocol becomes `service.protocol` when no param set it.
 *
 * A pattern that cannot be converted is listed in `unconverted` with its reason and never runs.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IotcleanError } from '../../core/errors.js';
import type { IdentifyInput, RuleMatch, RuleParams, RuleSource } from '../source.js';
import { compileConverted, convertRubyRegex, type RubyOptions, type RubyRegex } from './regex.js';
import { parseRecogXml, RecogFormatError, type RecogDatabase, type RecogExample, type RecogParam } from './xml.js';

/**
 * Confidence of a match when its file sets no `preference`. Recog's own default preference (0.10)
 * only orders databases for Nizer.match_all_db, it does not say a match is doubtful; iotclean reads
 * an unranked database as "as likely right as wrong" until a rule of its own says more.
 */
export const recogDefaultConfidence = 0.5;

/**
 * Extra keys a database answers to, so the inputs iotclean builds (src/identify/inputs.ts) reach
 * databases Recog names after their file: telnet_banners.xml has no `matches` attribute.
 */
export const recogKeyAliases: Readonly<Record<string, readonly string[]>> = {
  telnet_banners: ['telnet.banner'],
};

/** Recog's flags attribute → Ruby options (Recog::RegexpFactory::FLAG_MAP). */
const flagMap: Readonly<Record<string, keyof Pick<RubyOptions, 'ignoreCase' | 'dotAll'>>> = {
  REG_ICASE: 'ignoreCase',
  IGNORECASE: 'ignoreCase',
  REG_DOT_NEWLINE: 'dotAll',
  REG_LINE_ANY_CRLF: 'dotAll',
  REG_MULTILINE: 'dotAll',
};

export interface RecogUnconverted {
  readonly file: string;
  readonly index: number;
  readonly pattern: string;
  readonly reason: string;
}

/** One database as loaded, for reports. */
export interface RecogDatabaseSummary {
  readonly file: string;
  readonly matches: string;
  readonly protocol: string | null;
  readonly databaseType: string | null;
  readonly preference: number | null;
  readonly fingerprints: number;
  readonly converted: number;
}

export interface RecogLoad {
  readonly source: RuleSource;
  readonly files: number;
  readonly fingerprints: number;
  readonly unconverted: readonly RecogUnconverted[];
  readonly databases: readonly RecogDatabaseSummary[];
}

/** One fingerprint ready to run (regex null when it could not be converted). */
export interface CompiledFingerprint {
  readonly rule: string;
  readonly file: string;
  readonly index: number;
  readonly key: string;
  readonly description: string;
  readonly pattern: string;
  /** Recog's flags attribute, split. */
  readonly flags: readonly string[];
  readonly regex: RubyRegex | null;
  readonly unconverted: string | null;
  readonly params: readonly RecogParam[];
  readonly protocol: string | null;
  readonly confidence: number;
  readonly examples: readonly RecogExample[];
  /** Prefilter: a substring every match holds (lower-case when literalCi). */
  readonly literal: string | null;
  readonly literalCi: boolean;
}

/** The parsed and compiled databases of a folder (the examples runner and the bench use this). */
export interface RecogCompiled {
  readonly databases: readonly RecogDatabase[];
  readonly fingerprints: readonly CompiledFingerprint[];
}

function optionsOf(flags: readonly string[]): RubyOptions | string {
  const o = { ignoreCase: false, dotAll: false, extended: false };
  for (const f of flags) {
    const which = flagMap[f];
    if (!which) return `unknown flag ${f}`;
    o[which] = true;
  }
  return o;
}

function readDatabase(dir: string, file: string): RecogDatabase {
  const path = join(dir, file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new IotcleanError('E_RULES_FILE', `cannot read Recog database: ${(e as Error).message}`, { file: path, hint: 'check the folder given for Recog and its permissions' });
  }
  try {
    return parseRecogXml(text, file);
  } catch (e) {
    if (e instanceof RecogFormatError) {
      const hint = "point at Recog's xml/ folder, or remove the file";
      throw new IotcleanError('E_RULES_FILE', `not a Recog fingerprint database: ${e.message}`, e.line === undefined ? { file: path, hint } : { file: path, line: e.line, hint });
    }
    throw e;
  }
}

/** Parses and compiles every *.xml database in `dir` (sorted by name, so rule order is stable). */
export function compileRecog(dir: string): RecogCompiled {
  let files: string[];
  try {
    files = readdirSync(dir)
      .filter((f) => f.endsWith('.xml'))
      .sort();
  } catch (e) {
    throw new IotcleanError('E_NOT_FOUND', `Recog folder ${dir} cannot be read: ${(e as Error).message}`, { hint: "give the path of a copy of rapid7/recog's xml/ folder" });
  }
  if (files.length === 0) throw new IotcleanError('E_NOT_FOUND', `Recog folder ${dir} holds no *.xml databases`, { hint: "give the path of a copy of rapid7/recog's xml/ folder" });
  const databases = files.map((f) => readDatabase(dir, f));
  const fingerprints: CompiledFingerprint[] = [];
  for (const db of databases) {
    const base = (db.preference ?? recogDefaultConfidence);
    for (const fp of db.fingerprints) {
      const opts = optionsOf(fp.flags);
      const conv = typeof opts === 'string' ? { ok: false as const, reason: opts, offset: 0 } : convertRubyRegex(fp.pattern, opts);
      const regex = conv.ok ? compileConverted(conv) : null;
      fingerprints.push({
        rule: `recog:${db.file}:${fp.index}`,
        file: db.file,
        index: fp.index,
        key: db.matches,
        description: fp.description,
        pattern: fp.pattern,
        flags: fp.flags,
        regex,
        unconverted: conv.ok ? null : conv.reason,
        params: fp.params,
        protocol: db.protocol,
        confidence: Math.min(1, Math.max(0, base * (fp.certainty ?? 1))),
        examples: fp.examples,
        literal: conv.ok ? (conv.literal?.text ?? null) : null,
        literalCi: conv.ok ? (conv.literal?.ignoreCase ?? false) : false,
      });
    }
  }
  return { databases, fingerprints };
}

const PLACEHOLDER = /\{[^\s{}]+\}/g;

/**
 * Recog::Fingerprint#match's result for captures `m`: every param (captures by position,
 * constants with `{name}` filled from the other values), plus `service.protocol` from the file.
 * A constant naming a value that is missing becomes "-" in a `*.cpe23` version slot (Recog's rule);
 * elsewhere Recog raises, and the param is left out here.
 */
export function recogResult(fp: Pick<CompiledFingerprint, 'params' | 'protocol'>, m: readonly (string | undefined)[]): Map<string, string | undefined> {
  const result = new Map<string, string | undefined>();
  const constants: string[] = [];
  for (const p of fp.params) {
    if (p.pos === 0) {
      result.set(p.name, p.value ?? '');
      constants.push(p.name);
    } else {
      result.set(p.name, m[p.pos]);
    }
  }
  if (fp.protocol && result.get('service.protocol') === undefined) result.set('service.protocol', fp.protocol);
  for (const k of constants) {
    const value = result.get(k);
    if (value === undefined || !value.includes('{')) continue;
    const seen = new Set(value.match(PLACEHOLDER) ?? []);
    for (const ph of seen) {
      const name = ph.slice(1, -1);
      const current = result.get(k);
      if (current === undefined) break;
      const fill = result.get(name);
      if (fill !== undefined) result.set(k, current.split(ph).join(fill));
      else if (k.endsWith('.cpe23') && ph.endsWith('.version}')) result.set(k, current.split(ph).join('-'));
      else result.delete(k);
    }
  }
  return result;
}

function paramsOf(result: Map<string, string | undefined>): RuleParams {
  const out: Record<string, string> = {};
  for (const [k, v] of result) if (v !== undefined) out[k] = v;
  return out;
}

/** Runs one fingerprint on a text; undefined when it does not match (or was not converted). */
export function matchFingerprint(fp: CompiledFingerprint, text: string): Map<string, string | undefined> | undefined {
  if (!fp.regex) return undefined;
  const m = fp.regex.exec(text);
  return m ? recogResult(fp, m) : undefined;
}

/**
 * The fingerprints of one key, indexed for one-line inputs (most banners, headers and titles):
 * `^text$` patterns sit in a map from the text, and the rest are pre-sorted into lists by the first
 * character an anchored pattern can start with. Every list keeps file order, so the first match is
 * the one a plain walk would find; multi-line input takes the plain walk.
 */
class KeyIndex {
  private readonly exact = new Map<string, number>();
  private readonly others: { readonly fp: CompiledFingerprint; readonly pos: number }[] = [];
  /** Lists by first code unit (ASCII), built when first needed; 128 holds every non-ASCII start. */
  private readonly buckets: ({ readonly fp: CompiledFingerprint; readonly pos: number }[] | undefined)[] = [];

  constructor(readonly all: readonly CompiledFingerprint[]) {
    all.forEach((fp, pos) => {
      const exact = fp.regex?.conversion.exact ?? null;
      if (exact !== null) {
        if (!this.exact.has(exact)) this.exact.set(exact, pos);
      } else this.others.push({ fp, pos });
    });
  }

  private bucket(code: number): readonly { readonly fp: CompiledFingerprint; readonly pos: number }[] {
    const slot = code < 128 ? code : 128;
    let list = this.buckets[slot];
    if (!list) {
      list = this.others.filter(({ fp }) => {
        const first = fp.regex?.conversion.firstChars ?? null;
        if (first === null) return true;
        if (slot < 128) return first.includes(String.fromCharCode(code));
        for (let i = 0; i < first.length; i++) if (first.charCodeAt(i) >= 128) return true;
        return false;
      });
      this.buckets[slot] = list;
    }
    return list;
  }

  /** The first fingerprint matching, with its result. */
  first(text: string): { fp: CompiledFingerprint; result: Map<string, string | undefined> } | undefined {
    const lower: { v?: string } = {};
    if (text.includes('\n')) {
      for (const fp of this.all) {
        const result = tryOne(fp, text, lower);
        if (result) return { fp, result };
      }
      return undefined;
    }
    const exactPos = this.exact.get(text) ?? Infinity;
    const list = text.length === 0 ? this.others : this.bucket(text.charCodeAt(0));
    for (const { fp, pos } of list) {
      if (pos > exactPos) break;
      const result = tryOne(fp, text, lower);
      if (result) return { fp, result };
    }
    if (exactPos !== Infinity) {
      const fp = this.all[exactPos] as CompiledFingerprint;
      const result = matchFingerprint(fp, text);
      if (result) return { fp, result };
    }
    return undefined;
  }
}

/** The literal prefilter, then the regex. */
function tryOne(fp: CompiledFingerprint, text: string, lower: { v?: string }): Map<string, string | undefined> | undefined {
  if (fp.literal !== null) {
    if (fp.literalCi) {
      lower.v ??= text.toLowerCase();
      if (!lower.v.includes(fp.literal)) return undefined;
    } else if (!text.includes(fp.literal)) return undefined;
  }
  return matchFingerprint(fp, text);
}

/** A RuleSource over compiled fingerprints: per key, file order, first match wins. */
export function recogSource(compiled: RecogCompiled): RuleSource {
  const byKey = new Map<string, CompiledFingerprint[]>();
  const add = (key: string, fp: CompiledFingerprint): void => {
    const list = byKey.get(key) ?? [];
    list.push(fp);
    byKey.set(key, list);
  };
  for (const fp of compiled.fingerprints) {
    if (!fp.regex) continue;
    add(fp.key, fp);
    for (const alias of recogKeyAliases[fp.key] ?? []) add(alias, fp);
  }
  const index = new Map([...byKey].map(([k, list]) => [k, new KeyIndex(list)]));
  const keys = new Set(byKey.keys());
  return {
    name: 'recog',
    keys,
    match(input: IdentifyInput): RuleMatch | undefined {
      const hit = index.get(input.key)?.first(input.text);
      if (!hit) return undefined;
      return { rule: hit.fp.rule, source: 'recog', key: input.key, params: paramsOf(hit.result), confidence: hit.fp.confidence };
    },
  };
}

/**
 * Loads a folder of Recog databases as a RuleSource. Throws IotcleanError E_NOT_FOUND for a
 * missing or empty folder and E_RULES_FILE for a file that is not a Recog database.
 */
export function loadRecog(dir: string): RecogLoad {
  const compiled = compileRecog(dir);
  const unconverted: RecogUnconverted[] = compiled.fingerprints
    .filter((fp) => fp.unconverted !== null)
    .map((fp) => ({ file: fp.file, index: fp.index, pattern: fp.pattern, reason: fp.unconverted as string }));
  const databases = compiled.databases.map((db): RecogDatabaseSummary => {
    const mine = compiled.fingerprints.filter((fp) => fp.file === db.file);
    return {
      file: db.file,
      matches: db.matches,
      protocol: db.protocol,
      databaseType: db.databaseType,
      preference: db.preference,
      fingerprints: mine.length,
      converted: mine.filter((fp) => fp.regex !== null).length,
    };
  });
  return { source: recogSource(compiled), files: compiled.databases.length, fingerprints: compiled.fingerprints.length, unconverted, databases };
}

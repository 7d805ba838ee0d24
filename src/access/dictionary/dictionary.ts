/**
 * The ID/password dictionary: a versioned, approved list of (ID, password) entries with stable ids,
 * part of the survey plan (issue 7 item 5). Reports and exports name an entry by its id, never by
 * its password, so ids are short labels that do not spell the password ("mirai-017",
 * "vendor-hikvision-001"), and every entry cites where the pair was published.
 *
 * Parsing is strict, as for plans: unknown keys, a repeated pair, a repeated id or an unknown
 * source are refused with the file and line, because a list that silently drops or doubles a pair
 * changes what a survey tries without anyone noticing. The digest (sha256 of the canonical content)
 * is what results record, so a finding names the exact list it was found with.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { LineCounter, isMap, parseDocument } from 'yaml';
import type { Document } from 'yaml';
import * as z from 'zod';
import { IotcleanError } from '../../core/errors.js';
import { readInputFile } from '../../core/files.js';
import { canonicalJson } from '../../core/canonical-json.js';
import { accessProtocols, deviceTypes, type DeviceType } from '../../core/records.js';
import type { AccessProtocol, Credential } from '../module.js';

/** Protocols an entry may be restricted to: the access modules' (one list, in core/records.ts). */
export { accessProtocols };

/** One dictionary entry: the pair, where it was published, and what it is known for. */
export interface DictionaryEntry extends Credential {
  /** Keys of the file's `sources` table. */
  readonly sources: readonly string[];
  /** Makers known to ship this pair (ordering puts it first for them). */
  readonly vendors: readonly string[];
  /** Models known to ship it; a trailing "*" matches a series ("DS-2CD*"). */
  readonly models: readonly string[];
  /** Device types it is common on. */
  readonly types: readonly DeviceType[];
  /** When set, the only protocols the pair is used on (e.g. a telnet-only console password). */
  readonly protocols: readonly AccessProtocol[];
}

/** A cited public source of pairs. */
export interface DictionarySource {
  readonly title: string;
  /** Where it is published. */
  readonly url?: string;
  /** Or a file of this repository (e.g. the lab's device profiles). */
  readonly path?: string;
}

/** A validated dictionary. */
export interface Dictionary {
  readonly version: string;
  readonly name: string;
  /** sha256 (hex) of the canonical content: version, name, sources and entries in file order. */
  readonly digest: string;
  readonly sources: Readonly<Record<string, DictionarySource>>;
  readonly entries: readonly DictionaryEntry[];
}

/** What a result records about the dictionary it ran with. */
export interface DictionaryRef {
  readonly name: string;
  readonly version: string;
  readonly digest: string;
}

/** The most entries a file may hold: NOTICE's list is about 600; a runaway file is refused. */
export const maxDictionaryEntries = 5000;

const oneLine = z
  .string({ error: 'must be text' })
  .trim()
  .min(1, { error: 'must not be empty' })
  .refine((s) => !/[\r\n]/.test(s), { error: 'must be one line' });

// Control characters would break a telnet line or an HTTP header; a pair is what a user types.
const printable = /^[^\u0000-\u001f\u007f]*$/;

const idText = z
  .string({ error: 'must be text' })
  .min(1, { error: 'must not be empty' })
  .max(48, { error: 'must be at most 48 characters' })
  .regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, { error: 'must be kebab-case: lower-case letters and digits joined by "-" (e.g. vendor-hikvision-001)' });

const pairText = (what: string) =>
  z
    .string({ error: `must be text; quote it, e.g. ${what}: "1234"` })
    .max(128, { error: 'must be at most 128 characters' })
    .regex(printable, { error: 'must not hold control characters (CR, LF, NUL, ...)' });

const nameList = z.array(oneLine, { error: 'must be a list of names' }).min(1, { error: 'must not be empty (leave the key out instead)' });

const entryShape = {
  id: idText,
  username: pairText('username').min(1, { error: 'must not be empty' }),
  // Empty passwords are real defaults (Mirai tries root with none).
  password: pairText('password'),
  sources: z.array(idText, { error: 'must be a list of source keys' }).min(1, { error: 'must name at least one source' }),
  vendors: nameList.optional(),
  models: nameList.optional(),
  types: z.array(z.enum(deviceTypes, { error: `must be a device type (${deviceTypes.join(', ')})` })).min(1).optional(),
  protocols: z.array(z.enum(accessProtocols, { error: `must be one of ${accessProtocols.join(', ')}` })).min(1).optional(),
};
const entrySchema = z.strictObject(entryShape, { error: 'must be a mapping {id, username, password, sources, ...}' });

const sourceShape = {
  title: oneLine,
  url: z.url({ error: 'must be a URL' }).optional(),
  // A file of this repository, for sources that are not published (the lab's device profiles).
  path: oneLine.optional(),
};
const sourceSchema = z
  .strictObject(sourceShape, { error: 'must be a mapping {title, url} or {title, path}' })
  .refine((s) => s.url !== undefined || s.path !== undefined, { error: 'needs a url (or a path in this repository)' });

const fileShape = {
  version: z
    .string({ error: 'must be text; quote it, e.g. version: "2026.12-1"' })
    .regex(/^[0-9A-Za-z][0-9A-Za-z._-]*$/, { error: 'may hold only letters, digits, ".", "_" and "-"' }),
  name: oneLine,
  description: z.string({ error: 'must be text' }).default(''),
  sources: z.record(idText, sourceSchema, { error: 'must be a mapping of source keys to {title, url}' }),
  entries: z
    .array(entrySchema, { error: 'must be a list of entries' })
    .min(1, { error: 'must not be empty: a dictionary with no entries tries nothing' })
    .max(maxDictionaryEntries, { error: `must hold at most ${maxDictionaryEntries} entries` }),
};
const fileSchema = z.strictObject(fileShape);

/** Parse and validate dictionary text; `fileName` is only used in error messages. */
export function parseDictionary(text: string, fileName: string): Dictionary {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const lineAt = (offset: number): number => lineCounter.linePos(offset).line;
  const fail = (message: string, line: number | undefined, hint?: string): never => {
    throw new IotcleanError('E_DICTIONARY_FILE', message, { file: fileName, ...(line ? { line } : {}), ...(hint ? { hint } : {}) });
  };

  const syntax = doc.errors[0];
  if (syntax) fail(`YAML syntax: ${syntax.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '')}`, lineAt(syntax.pos[0]));
  if (doc.contents === null) fail('dictionary file is empty', 1, 'start from src/access/dictionary/default.yaml');
  if (!isMap(doc.contents)) fail('a dictionary must be a mapping of keys (version, name, sources, entries)', 1);

  let raw: unknown;
  try {
    // Aliases are not needed in a list of pairs; a small cap stops alias bombs.
    raw = doc.toJS({ maxAliasCount: 10 });
  } catch (e) {
    fail(`YAML: ${(e as Error).message}`, 1);
  }

  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path ?? [];
    const where = describePath(path);
    const keys = issue?.code === 'unrecognized_keys' ? ` ${issue.keys.map((k) => `"${k}"`).join(', ')}` : '';
    const allowed = issue?.code === 'unrecognized_keys' ? ` (allowed: ${Object.keys(allowedShape(path)).join(', ')})` : '';
    const message = issue?.code === 'unrecognized_keys' ? `unknown key${keys}${where ? ` in ${where}` : ''}${allowed}` : `${where ? `${where}: ` : ''}${issue?.message ?? 'invalid'}`;
    return fail(message, nodeLineAt(doc, path, lineAt), 'see src/access/dictionary/default.yaml for the format');
  }
  const file = parsed.data;

  const entryLine = (i: number): number | undefined => nodeLineAt(doc, ['entries', i], lineAt);
  const byPair = new Map<string, number>();
  const byId = new Map<string, number>();
  const entries = file.entries.map((e, i): DictionaryEntry => {
    const here = entryLine(i);
    const lineOf = (j: number): string => `entries[${j}]${entryLine(j) ? `, line ${entryLine(j)}` : ''}`;
    const sameId = byId.get(e.id);
    if (sameId !== undefined) fail(`entry id "${e.id}" is used twice (also ${lineOf(sameId)})`, here, 'ids are stable labels: give the new entry the next free number');
    byId.set(e.id, i);
    // JSON of the pair: no separator character can make two different pairs collide.
    const pair = JSON.stringify([e.username, e.password]);
    const samePair = byPair.get(pair);
    if (samePair !== undefined) {
      fail(`entry "${e.id}" repeats the pair of "${file.entries[samePair]?.id}" (${lineOf(samePair)})`, here, 'merge the two: add the sources, vendors and models to the first entry');
    }
    byPair.set(pair, i);
    // An id is printed in reports where the password must not appear (issue 7 item 8).
    if (e.password.length >= 4 && e.id.includes(e.password.toLowerCase())) {
      fail(`entry id "${e.id}" contains its password`, here, 'reports print ids: name entries by source and number (e.g. vendor-acme-001)');
    }
    for (const s of e.sources) {
      if (!Object.hasOwn(file.sources, s)) fail(`entry "${e.id}" cites unknown source "${s}"`, here, `add "${s}" to the sources table at the top (known: ${Object.keys(file.sources).slice(0, 8).join(', ')}, ...)`);
    }
    const dupIn = (list: readonly string[] | undefined, what: string): void => {
      const d = list?.find((x, k) => list.indexOf(x) !== k);
      if (d !== undefined) fail(`entry "${e.id}" lists ${what} "${d}" twice`, here);
    };
    dupIn(e.sources, 'source');
    dupIn(e.vendors, 'vendor');
    dupIn(e.models, 'model');
    dupIn(e.types, 'type');
    dupIn(e.protocols, 'protocol');
    return Object.freeze({
      id: e.id,
      username: e.username,
      password: e.password,
      sources: Object.freeze([...e.sources]),
      vendors: Object.freeze([...(e.vendors ?? [])]),
      models: Object.freeze([...(e.models ?? [])]),
      types: Object.freeze([...(e.types ?? [])]),
      protocols: Object.freeze([...(e.protocols ?? [])]),
    });
  });

  const sources: Record<string, DictionarySource> = {};
  for (const [k, s] of Object.entries(file.sources)) sources[k] = Object.freeze({ title: s.title, ...(s.url !== undefined ? { url: s.url } : {}), ...(s.path !== undefined ? { path: s.path } : {}) });
  const content = { version: file.version, name: file.name, sources, entries };
  return Object.freeze({ ...content, sources: Object.freeze(sources), entries: Object.freeze(entries), digest: dictionaryDigest(content) });
}

/** Built-in dictionaries, by the name a plan uses for them. */
export const builtInDictionaries = ['default'] as const;
export type BuiltInDictionary = (typeof builtInDictionaries)[number];

/** Whether a plan's `dictionary:` value names a built-in list rather than a file. */
export function isBuiltInDictionary(ref: string): ref is BuiltInDictionary {
  return (builtInDictionaries as readonly string[]).includes(ref);
}

/**
 * src/access/dictionary/<name>.yaml: next to this module when running from source, else the source
 * folder when running compiled from dist/ (tsc does not copy data files).
 */
export function builtInDictionaryPath(name: BuiltInDictionary = 'default'): string {
  const candidates = [
    fileURLToPath(new URL(`./${name}.yaml`, import.meta.url)),
    fileURLToPath(new URL(`../../../../src/access/dictionary/${name}.yaml`, import.meta.url)),
  ];
  for (const p of candidates) if (existsSync(p)) return p;
  throw new IotcleanError('E_DICTIONARY_FILE', `built-in dictionary "${name}" not found`, { hint: `looked in ${candidates.join(', ')}; reinstall iotclean` });
}

/** Read and validate a dictionary file; without a path, the built-in default list. */
export async function loadDictionary(path: string = builtInDictionaryPath()): Promise<Dictionary> {
  const text = await readInputFile(path, {
    code: 'E_DICTIONARY_FILE',
    name: 'dictionary file',
    hint: 'check the path; the built-in list is src/access/dictionary/default.yaml (plan value "default")',
  });
  return parseDictionary(text, path);
}

/** What a result records: name, version and digest (never the pairs). */
export function dictionaryRef(d: Dictionary): DictionaryRef {
  return { name: d.name, version: d.version, digest: d.digest };
}

/**
 * sha256 (hex) of canonical JSON (keys sorted, no whitespace) of the content that decides what is
 * tried and how it is reported; comments, layout and the description do not change it.
 */
export function dictionaryDigest(content: Pick<Dictionary, 'version' | 'name' | 'sources' | 'entries'>): string {
  return createHash('sha256').update(canonicalJson({ version: content.version, name: content.name, sources: content.sources, entries: content.entries })).digest('hex');
}

// --- locating a zod issue in the YAML source ---------------------------------------------------

function allowedShape(path: readonly PropertyKey[]): Record<string, unknown> {
  if (path[0] === 'entries' && path.length === 2) return entryShape;
  if (path[0] === 'sources' && path.length === 2) return sourceShape;
  return fileShape;
}

function describePath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : `${out ? '.' : ''}${String(p)}`;
  return out;
}

/** Line of the deepest existing node on `path` (the key's line for a missing value). */
function nodeLineAt(doc: Document, path: readonly PropertyKey[], lineAt: (offset: number) => number): number | undefined {
  for (let depth = path.length; depth >= 0; depth--) {
    const node = depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth) as (string | number)[], true);
    const range = (node as { range?: readonly number[] } | null | undefined)?.range;
    if (range?.[0] !== undefined) return lineAt(range[0]);
  }
  return undefined;
}

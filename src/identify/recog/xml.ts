/**
 * Reads one Recog fingerprint database (xml/*.xml in rapid7/recog, schema fingerprints.xsd) into
 * plain records, keeping every pattern, example and value exactly as an XML parser hands it to
 * Recog (Nokogiri): line ends normalised to "\n" (XML 1.0 §2.11), literal tabs and newlines in
 * attribute values read as spaces (§3.3.3), then the five XML entities and character references
 * decoded. fast-xml-parser does the element structure with its own entity handling off, so the
 * order of those steps is ours and exact.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { z } from 'zod';

/** One `<example>`: the text a fingerprint must match and the params it must yield. */
export interface RecogExample {
  /** The text to match; base64 examples decoded, each byte one char (Latin-1), as Ruby's binary strings. */
  readonly text: string;
  /** Expected params (every attribute but `_encoding` and `_filename`). */
  readonly expect: Readonly<Record<string, string>>;
  readonly encoding: 'base64' | null;
  /** `_filename`: the example lives in a file beside the database (Recog's xml/<db>/<file>). */
  readonly filename: string | null;
}

/** One `<param>`: pos 0 is a constant (`value`, maybe with `{other.param}`), pos N is capture N. */
export interface RecogParam {
  readonly pos: number;
  readonly name: string;
  readonly value: string | null;
}

export interface RecogFingerprint {
  /** 0-based position in the file (the rule id uses it). */
  readonly index: number;
  readonly pattern: string;
  /** The `flags` attribute split on ",", e.g. ["REG_ICASE", "REG_MULTILINE"]. */
  readonly flags: readonly string[];
  readonly description: string;
  readonly certainty: number | null;
  readonly examples: readonly RecogExample[];
  readonly params: readonly RecogParam[];
}

export interface RecogDatabase {
  /** Base file name, e.g. "ssh_banners.xml". */
  readonly file: string;
  /** The `matches` attribute, else the file name without ".xml" (Recog::DB does the same). */
  readonly matches: string;
  readonly protocol: string | null;
  readonly databaseType: string | null;
  readonly preference: number | null;
  readonly fingerprints: readonly RecogFingerprint[];
}

const attrs = z.record(z.string(), z.string()).optional();

const exampleSchema = z.object({ '#text': z.string().optional(), '@': attrs });
const paramSchema = z.object({ '@': z.object({ pos: z.string().regex(/^\s*\d+\s*$/, 'pos must be a whole number'), name: z.string().min(1), value: z.string().optional() }) });
const fingerprintSchema = z.object({
  '@': z.object({ pattern: z.string(), flags: z.string().optional(), certainty: z.string().optional() }).catchall(z.string()),
  description: z.array(z.object({ '#text': z.string().optional() }).loose()).optional(),
  example: z.array(exampleSchema).optional(),
  param: z.array(paramSchema).optional(),
});
const documentSchema = z.object({
  fingerprints: z.object({
    '@': z.object({ matches: z.string().optional(), protocol: z.string().optional(), database_type: z.string().optional(), preference: z.string().optional() }).loose().optional(),
    fingerprint: z.array(fingerprintSchema).optional(),
  }),
});

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  attributesGroupName: '@',
  processEntities: false,
  htmlEntities: false,
  trimValues: false,
  parseTagValue: false,
  parseAttributeValue: false,
  alwaysCreateTextNode: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  isArray: (name) => name === 'fingerprint' || name === 'example' || name === 'param' || name === 'description',
  // Attribute values: whitespace normalised before references are decoded (XML 1.0 §3.3.3).
  attributeValueProcessor: (_name, value) => decodeXmlText(value.replace(/[\t\n]/g, ' ')),
  tagValueProcessor: (_name, value) => decodeXmlText(value),
});

const NAMED: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** The five predefined entities and numeric character references (XML 1.0 §4.1, §4.6). */
export function decodeXmlText(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(/&(#x[0-9A-Fa-f]+|#[0-9]+|[A-Za-z]+);/g, (whole, ref: string) => {
    if (ref.startsWith('#')) {
      const code = ref[1] === 'x' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      return Number.isFinite(code) && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return NAMED[ref] ?? whole;
  });
}

/** Thrown for a file that is not a Recog database; the loader turns it into an IotcleanError. */
export class RecogFormatError extends Error {
  override readonly name = 'RecogFormatError';
  constructor(
    message: string,
    /** 1-based line of the problem, when known. */
    readonly line?: number,
  ) {
    super(message);
  }
}

function numberOrNull(v: string | undefined, what: string): number | null {
  if (v === undefined || v.trim() === '') return null;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new RecogFormatError(`${what} "${v}" is not a number`);
  return n;
}

/** Parses one database file's text. */
export function parseRecogXml(xml: string, file: string): RecogDatabase {
  const text = xml.replace(/\r\n?/g, '\n');
  // The parser itself tolerates mismatched tags; the validator does not.
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw new RecogFormatError(`not well-formed XML: ${valid.err.msg}`, valid.err.line);
  let raw: unknown;
  try {
    raw = parser.parse(text);
  } catch (e) {
    throw new RecogFormatError(`not well-formed XML: ${(e as Error).message}`);
  }
  const doc = documentSchema.safeParse(raw);
  if (!doc.success) throw new RecogFormatError(`not a Recog <fingerprints> database: ${doc.error.issues[0]?.message ?? 'bad structure'} at ${doc.error.issues[0]?.path.join('.') ?? ''}`);
  const top = doc.data.fingerprints['@'] ?? {};
  const fingerprints = (doc.data.fingerprints.fingerprint ?? []).map((fp, index): RecogFingerprint => {
    const a = fp['@'];
    const flags = (a.flags ?? '')
      .split(',')
      .map((f) => f.trim())
      .filter((f) => f !== '');
    const examples = (fp.example ?? []).map((ex): RecogExample => {
      const at = ex['@'] ?? {};
      const encoding = at._encoding === 'base64' ? 'base64' : null;
      if (at._encoding !== undefined && encoding === null) throw new RecogFormatError(`fingerprint ${index}: unknown example _encoding "${at._encoding}"`);
      const body = ex['#text'] ?? '';
      const text = encoding ? Buffer.from(body, 'base64').toString('latin1') : body;
      const expect: Record<string, string> = {};
      for (const [k, v] of Object.entries(at)) if (k !== '_encoding' && k !== '_filename') expect[k] = v;
      return { text, expect, encoding, filename: at._filename ?? null };
    });
    const params = (fp.param ?? []).map((p): RecogParam => ({ pos: Number(p['@'].pos.trim()), name: p['@'].name, value: p['@'].value ?? null }));
    return {
      index,
      pattern: a.pattern,
      flags,
      description: (fp.description?.[0]?.['#text'] ?? '').trim(),
      certainty: numberOrNull(a.certainty, `fingerprint ${index}: certainty`),
      examples,
      params,
    };
  });
  return {
    file,
    matches: top.matches ?? file.replace(/\.xml$/, ''),
    protocol: top.protocol ?? null,
    databaseType: top.database_type ?? null,
    preference: numberOrNull(top.preference, 'preference'),
    fingerprints,
  };
}

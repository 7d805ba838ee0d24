/**
 * The write-side schemas of the records grab, identify and access produce (records.ts), in one place: the
 * store validates every observation and identification against them before a row is written, so
 * a stage with a bug cannot store a record that later readers misread. Unknown keys and bad values
 * are refused (IntelMQ's harmonisation rule); `fields` stays open because its shape belongs to the
 * grab module (src/grab/fields.ts), but it must be JSON and bounded.
 */
import * as z from 'zod';
import { IotcleanError } from './errors.js';
import { parseIpv4 } from './ip.js';
import { accessProtocols, accessVerdicts, attemptOutcomes, deviceTypes, grabStatuses, type AccessAttemptRecord, type AccessResult, type Identification, type Observation } from './records.js';

/** Largest `fields` JSON and `raw` base64 text a record may carry; modules bound theirs far below. */
export const maxFieldsJsonBytes = 1 << 20;
export const maxRawChars = 1 << 20;
/** Longest free-text value (error, vendor, rule, ...) kept in a flat column. */
export const maxTextChars = 4096;

const id = z.number().int().positive();
const ipv4 = z.string().refine((s) => parseIpv4(s) !== undefined, { error: 'must be a dotted-quad IPv4 address' });
const port = z.number().int().min(1).max(65535);
const isoTime = z.string().refine((s) => !Number.isNaN(Date.parse(s)), { error: 'must be an ISO 8601 time' });
const text = z.string().max(maxTextChars);
const name = z.string().min(1).max(64).regex(/^[a-z0-9][a-z0-9_.-]*$/, { error: 'must be a lower-case module name' });

/** JSON-serialisable and bounded: the text that will be stored, or an issue. */
const jsonRecord = z.record(z.string(), z.unknown()).superRefine((v, ctx) => {
  let json: string | undefined;
  try {
    json = JSON.stringify(v);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: `is not JSON-serialisable (${(e as Error).message})` });
    return;
  }
  if (json === undefined) ctx.addIssue({ code: 'custom', message: 'is not JSON-serialisable' });
  else if (json.length > maxFieldsJsonBytes) ctx.addIssue({ code: 'custom', message: `is ${json.length} characters of JSON, more than ${maxFieldsJsonBytes}` });
});

export const observationSchema = z.strictObject({
  kind: z.literal('observation'),
  id: id.optional(),
  surveyId: id.nullable(),
  endpointId: id.nullable(),
  ip: ipv4,
  port,
  module: name,
  status: z.enum(grabStatuses),
  recognised: z.boolean(),
  fields: jsonRecord,
  raw: z.string().max(maxRawChars).regex(/^[A-Za-z0-9+/]*={0,2}$/, { error: 'must be base64' }),
  bytesReceived: z.number().int().min(0),
  error: text.optional(),
  observedAt: isoTime,
  durationMs: z.number().min(0).finite(),
  source: z.enum(['grab', 'zgrab2']),
});

const identity = z.strictObject({ vendor: text.nullable(), product: text.nullable(), version: text.nullable() });

const catalogueEntry = z.strictObject({
  vendor: text,
  model: text,
  type: z.enum(deviceTypes),
  releaseYear: z.number().int().min(1970).max(2100).nullable(),
  endOfLife: z.string().regex(/^\d{4}-\d{2}-\d{2}$/).nullable(),
  supportUrl: text.nullable(),
  manual: text.nullable(),
});

export const identificationSchema = z
  .strictObject({
    kind: z.literal('identification'),
    id: id.optional(),
    surveyId: id.nullable(),
    endpointId: id.nullable(),
    ip: ipv4,
    port: port.nullable(),
    protocol: name.nullable(),
    type: z.enum(deviceTypes).nullable(),
    vendor: text.nullable(),
    product: text.nullable(),
    version: text.nullable(),
    device: identity.nullable(),
    os: identity.nullable(),
    service: identity.nullable(),
    cpe: z.array(z.string().startsWith('cpe:2.3:').max(1024)).max(64).readonly(),
    confidence: z.number().min(0).max(1),
    rule: text.nullable(),
    rules: z.array(text).max(256).readonly(),
    catalogue: catalogueEntry.nullable(),
    identifiedAt: isoTime,
  })
  .superRefine((r, ctx) => {
    // An endpoint row names its port; the host row (merged across ports) has neither.
    if (r.endpointId !== null && r.port === null) {
      ctx.addIssue({ code: 'custom', message: 'an endpoint-level identification (endpointId set) must have a port', path: ['port'] });
    }
  });

const entryId = z.string().min(1).max(128).regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]*$/, { error: 'must be a dictionary entry id' });
const digest = z.string().regex(/^[0-9a-f]{64}$/, { error: 'must be a sha256 hex digest' });

export const accessResultSchema = z
  .strictObject({
    kind: z.literal('access-result'),
    id: id.optional(),
    surveyId: id.nullable(),
    endpointId: id.nullable(),
    ip: ipv4,
    port,
    protocol: z.enum(accessProtocols),
    verdict: z.enum(accessVerdicts),
    entry: entryId.nullable(),
    username: text.nullable(),
    reason: text.nullable(),
    attempts: z.number().int().min(0),
    planDigest: digest.nullable(),
    planVersion: text.nullable(),
    dictionary: z.strictObject({ name: text, version: text, digest }),
    startedAt: isoTime,
    finishedAt: isoTime,
  })
  .superRefine((r, ctx) => {
    // A weak verdict names its entry; no other verdict may (a report must never cite a pair
    // that did not prove a weakness).
    if ((r.verdict === 'weak-credential') !== (r.entry !== null)) {
      ctx.addIssue({ code: 'custom', path: ['entry'], message: r.entry === null ? 'is required for a weak-credential verdict' : `must be null for a ${r.verdict} verdict` });
    }
  });

export const accessAttemptSchema = z.strictObject({
  kind: z.literal('access-attempt'),
  id: id.optional(),
  surveyId: id.nullable(),
  ip: ipv4,
  port,
  protocol: z.enum(accessProtocols),
  entry: entryId,
  username: text,
  outcome: z.enum(attemptOutcomes),
  at: isoTime,
  durationMs: z.number().min(0).finite(),
  detail: text.nullable(),
  planVersion: text.nullable(),
});

function refuse(what: string, r: unknown, error: z.ZodError): IotcleanError {
  const issue = error.issues[0];
  const at = issue?.path.length ? issue.path.map(String).join('.') : '(record)';
  const where = typeof r === 'object' && r !== null && 'ip' in r ? ` for ${String((r as { ip: unknown }).ip)}${'port' in r ? `:${String((r as { port: unknown }).port)}` : ''}` : '';
  return new IotcleanError('E_STORE', `${what}${where} refused: ${at} ${issue?.message ?? 'is invalid'}; nothing of this batch was stored`, {
    hint: 'this is a bug in the stage that made the record (or a hand-edited import); see src/core/schemas.ts',
  });
}

/** The observation as validated, or an E_STORE error naming the first bad field. */
export function checkObservation(r: unknown): Observation {
  const result = observationSchema.safeParse(r);
  if (!result.success) throw refuse('observation', r, result.error);
  return result.data as Observation;
}

/** The identification as validated, or an E_STORE error naming the first bad field. */
export function checkIdentification(r: unknown): Identification {
  const result = identificationSchema.safeParse(r);
  if (!result.success) throw refuse('identification', r, result.error);
  return result.data as Identification;
}

/**
 * Text for a flat text column, the same on both back ends: PostgreSQL's text type refuses U+0000,
 * so NUL becomes U+FFFD (the replacement character), and lone surrogates (which neither back end
 * can encode as UTF-8) become U+FFFD too. JSON columns need none of this: JSON.stringify writes NUL
 * as the escape \u0000 and lone surrogates as \udXXX escapes, so fields and bodies round-trip exactly.
 */
export function storableText(s: string): string;
export function storableText(s: string | null): string | null;
export function storableText(s: string | null | undefined): string | null | undefined;
export function storableText(s: string | null | undefined): string | null | undefined {
  if (s === null || s === undefined) return s;
  return s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]|\u0000/g, '\uFFFD');
}

/** The access result as validated, or an E_STORE error naming the first bad field. */
export function checkAccessResult(r: unknown): AccessResult {
  const result = accessResultSchema.safeParse(r);
  if (!result.success) throw refuse('access result', r, result.error);
  return result.data as AccessResult;
}

/** The access attempt as validated, or an E_STORE error naming the first bad field. */
export function checkAccessAttempt(r: unknown): AccessAttemptRecord {
  const result = accessAttemptSchema.safeParse(r);
  if (!result.success) throw refuse('access attempt', r, result.error);
  return result.data as AccessAttemptRecord;
}

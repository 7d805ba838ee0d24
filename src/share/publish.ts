/** Putting this ISP's C&C list into the TAXII collection it serves, and reading candidates from a file. */
import { readFile } from 'node:fs/promises';
import * as z from 'zod';
import { IotcleanError } from '../core/errors.js';
import type { ShareRepository } from '../store/share.js';
import { iotcleanNamespace, uuidv5 } from './ids.js';
import type { CandidateSource, ShareEntry, StixBundle } from './types.js';

/** This ISP's own list: one collection per identity, with a stable id and the alias "c2". */
export function exportCollection(identity: string) {
  return {
    id: uuidv5(iotcleanNamespace, `taxii-collection:${identity}:c2`),
    alias: 'c2',
    title: `${identity}: IoT botnet C&C candidates`,
    description: `C&C endpoints ${identity} found in its flow records, with liveness (indicators expire when the endpoint is dead).`,
    kind: 'export' as const,
  };
}

/** Add the bundle's objects to the collection; versions already held are not added again (their date_added stays). */
export async function publishBundle(share: ShareRepository, collectionId: string, bundle: StixBundle, nowMs: number) {
  return share.addObjects(collectionId, bundle.objects, nowMs);
}

const evidence = z.strictObject({ feature: z.string(), value: z.union([z.number(), z.string()]), note: z.string() });
const time = z.string().refine((s) => Number.isFinite(Date.parse(s)), { error: 'must be an ISO 8601 time' });
const candidateSchema = z.object({
  kind: z.literal('c2-candidate').default('c2-candidate'),
  ip: z.string(),
  port: z.number().int().min(1).max(65535),
  proto: z.enum(['tcp', 'udp']).default('tcp'),
  score: z.number().min(0).max(1),
  firstSeen: time,
  lastSeen: time,
  clients: z.number().int().min(0),
  knownBadClients: z.number().int().min(0),
  evidence: z.array(evidence).default([]),
  window: z.object({ from: time, to: time }),
});
const checkSchema = z.object({ ip: z.string(), port: z.number().int(), at: time, alive: z.boolean(), outcome: z.string().default(''), ms: z.number().nullable().default(null) });
/** One line or array element: a candidate alone (as `flows detect --json` prints it), or {candidate, liveness, validUntil}. */
const entrySchema = z.union([
  z.object({ candidate: candidateSchema, liveness: z.array(checkSchema).default([]), validUntil: time.nullable().default(null) }),
  candidateSchema.transform((candidate) => ({ candidate, liveness: [], validUntil: null })),
]);

/** first_seen → firstSeen, one level deep and inside `candidate`, so snake_case JSON output reads too. */
function camelKeys(v: unknown): unknown {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    const key = k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
    out[key] = key === 'candidate' ? camelKeys(x) : x;
  }
  return out;
}

/** Candidates from a JSON array or JSON Lines file; a bad element is an error naming its line or index. */
export async function fileCandidateSource(file: string): Promise<CandidateSource> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new IotcleanError('E_SHARE_FILE', `cannot read candidates: ${(e as Error).message}`, { file });
  }
  const items: { value: unknown; line: number }[] = [];
  const trimmed = text.trimStart();
  try {
    if (trimmed.startsWith('[')) (JSON.parse(text) as unknown[]).forEach((value, i) => items.push({ value, line: i + 1 }));
    else text.split('\n').forEach((l, i) => l.trim() && items.push({ value: JSON.parse(l), line: i + 1 }));
  } catch (e) {
    throw new IotcleanError('E_SHARE_FILE', `not JSON or JSON Lines: ${(e as Error).message}`, { file, hint: 'give the output of iotclean flows detect --json' });
  }
  const entries: ShareEntry[] = [];
  for (const { value, line } of items) {
    // Summary rows and other kinds in the same output are not candidates.
    if (value && typeof value === 'object' && 'kind' in value && (value as { kind: unknown }).kind !== 'c2-candidate') continue;
    const r = entrySchema.safeParse(camelKeys(value));
    if (!r.success) {
      const i = r.error.issues[0]!;
      throw new IotcleanError('E_SHARE_FILE', `${i.path.join('.') || 'candidate'}: ${i.message}`, { file, line });
    }
    entries.push(r.data as ShareEntry);
  }
  return {
    async *list(filter) {
      for (const e of entries) if (filter.minScore === undefined || e.candidate.score >= filter.minScore) yield e;
    },
  };
}

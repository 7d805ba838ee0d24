/**
 * A TAXII 2.1 client that pulls another ISP's collection and merges it into the store: finds the
 * API root from the discovery URL (or takes it as given), checks the collection may be read, pages
 * through objects with `next` (or `added_after` from X-TAXII-Date-Added-Last when the server gives
 * no next), validates every object before it is merged (dedupe by STIX id, newer modified wins),
 * and remembers where it stopped so the next pull asks only for what was added since.
 */
import * as z from 'zod';
import { IotcleanError } from '../core/errors.js';
import type { MergeResult, ShareRepository } from '../store/share.js';
import { taxiiMediaType } from './taxii-server.js';
import type { StixObject } from './types.js';
import { isStixTimestamp, validateStixObject } from './validate.js';

export interface PullOptions {
  /** Discovery URL (…/taxii2/) or API root URL. */
  readonly url: string;
  readonly collection: string;
  readonly token: string;
  /** Overrides the remembered cursor (e.g. to pull everything again: 1970-01-01T00:00:00Z). */
  readonly addedAfter?: string;
  readonly pageSize?: number;
  /** A bound on the pages of one pull, so a misbehaving server cannot keep the client forever. */
  readonly maxPages?: number;
  readonly now?: () => number;
  readonly onPage?: (page: number, objects: number) => void;
}

export interface PullResult extends MergeResult {
  readonly source: string;
  readonly pages: number;
  readonly objects: number;
  readonly invalid: number;
  /** The first few validation problems of refused objects. */
  readonly problems: readonly string[];
  /** The cursor saved for the next pull (null: nothing was ever received). */
  readonly addedAfter: string | null;
}

const discoverySchema = z.object({ default: z.string().optional(), api_roots: z.array(z.string()).optional() });
const collectionSchema = z.object({ id: z.string(), can_read: z.boolean(), can_write: z.boolean(), title: z.string() });
const envelopeSchema = z.object({ more: z.boolean().optional(), next: z.string().optional(), objects: z.array(z.unknown()).optional() });

async function get(url: string, token: string): Promise<{ json: unknown; headers: Headers }> {
  let res: Response | undefined;
  try {
    // A kept-alive connection the server closed while idle fails the first request on it: GETs
    // are idempotent, so one retry on a fresh connection is safe.
    for (let attempt = 1; !res; attempt++) {
      try {
        res = await fetch(url, { headers: { Accept: taxiiMediaType, Authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(60_000) });
      } catch (e) {
        if (attempt >= 2 || (e as Error).name === 'TimeoutError') throw e;
      }
    }
  } catch (e) {
    const cause = (e as { cause?: { message?: string; code?: string } }).cause;
    throw new IotcleanError('E_TAXII', `${url}: ${(e as Error).message}${cause ? ` (${cause.code ?? cause.message ?? ''})` : ''}`, { hint: 'is the TAXII server running and the URL right?' });
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const err = json as { title?: unknown; description?: unknown } | undefined;
    const what = err && typeof err.title === 'string' ? `${err.title}${typeof err.description === 'string' ? `: ${err.description}` : ''}` : text.slice(0, 200);
    const hint = res.status === 401 ? 'check the token file' : res.status === 403 || res.status === 404 ? 'the collection id is wrong, or this ISP has no read grant on it' : undefined;
    throw new IotcleanError('E_TAXII', `${url}: HTTP ${res.status} ${what}`, hint ? { hint } : {});
  }
  const type = (res.headers.get('Content-Type') ?? '').replace(/\s+/g, '').toLowerCase();
  if (!type.startsWith('application/taxii+json')) throw new IotcleanError('E_TAXII', `${url}: answered ${type || 'no content type'}, not ${taxiiMediaType}`);
  if (json === undefined) throw new IotcleanError('E_TAXII', `${url}: the answer is not JSON`);
  return { json, headers: res.headers };
}

function parse<T>(schema: z.ZodType<T>, v: unknown, url: string, what: string): T {
  const r = schema.safeParse(v);
  if (!r.success) throw new IotcleanError('E_TAXII', `${url}: not a TAXII ${what}: ${r.error.issues[0]!.path.join('.')} ${r.error.issues[0]!.message}`);
  return r.data;
}

/** The API root URL (with a trailing /) from a discovery URL or an API root URL. */
export async function resolveApiRoot(url: string, token: string): Promise<string> {
  const u = new URL(url);
  if (!/\/taxii2\/?$/.test(u.pathname)) return u.href.endsWith('/') ? u.href : `${u.href}/`;
  const d = parse(discoverySchema, (await get(u.href.endsWith('/') ? u.href : `${u.href}/`, token)).json, url, 'discovery resource');
  const root = d.default ?? d.api_roots?.[0];
  if (!root) throw new IotcleanError('E_TAXII', `${url}: the server lists no API root`);
  const abs = new URL(root, u).href;
  return abs.endsWith('/') ? abs : `${abs}/`;
}

/** Pull one collection into store.share (received objects) and save the cursor. */
export async function pullCollection(share: ShareRepository, o: PullOptions): Promise<PullResult> {
  const now = o.now ?? Date.now;
  if (o.addedAfter !== undefined && !isStixTimestamp(o.addedAfter)) throw new IotcleanError('E_ARGS', `--added-after "${o.addedAfter}" is not an RFC 3339 timestamp ending in Z`, { hint: 'e.g. 2026-11-01T00:00:00Z' });
  const apiRoot = await resolveApiRoot(o.url, o.token);
  const collectionUrl = `${apiRoot}collections/${encodeURIComponent(o.collection)}/`;
  const col = parse(collectionSchema, (await get(collectionUrl, o.token)).json, collectionUrl, 'collection');
  if (!col.can_read) throw new IotcleanError('E_TAXII', `${collectionUrl}: this ISP may not read "${col.title}"`, { hint: 'ask its operator for a read grant' });
  const source = collectionUrl;
  const before = await share.cursor(source);
  let addedAfter = o.addedAfter ?? before?.addedAfter ?? undefined;
  let newest = addedAfter ?? null;
  const totals = { added: 0, updated: 0, unchanged: 0 };
  let pages = 0;
  let objects = 0;
  let invalid = 0;
  const problems: string[] = [];
  let next: string | undefined;
  const maxPages = o.maxPages ?? 100_000;
  for (;;) {
    if (pages >= maxPages) throw new IotcleanError('E_TAXII', `${collectionUrl}: more than ${maxPages} pages; stopped (the cursor is not moved, objects merged so far stay)`);
    const q = new URLSearchParams({ limit: String(o.pageSize ?? 500) });
    if (next !== undefined) q.set('next', next);
    if (addedAfter !== undefined) q.set('added_after', addedAfter);
    const url = `${collectionUrl}objects/?${q}`;
    const { json, headers } = await get(url, o.token);
    const env = parse(envelopeSchema, json, url, 'envelope');
    pages++;
    const good: StixObject[] = [];
    for (const x of env.objects ?? []) {
      const errs = validateStixObject(x);
      if (errs.length) {
        invalid++;
        if (problems.length < 10) problems.push(errs[0]!);
      } else good.push(x as StixObject);
    }
    objects += env.objects?.length ?? 0;
    const merged = await share.mergeReceived(source, good, now());
    totals.added += merged.added;
    totals.updated += merged.updated;
    totals.unchanged += merged.unchanged;
    o.onPage?.(pages, objects);
    const last = headers.get('X-TAXII-Date-Added-Last');
    if (last && isStixTimestamp(last) && (newest === null || Date.parse(last) > Date.parse(newest))) newest = new Date(Date.parse(last)).toISOString();
    if (!env.more) break;
    if (env.next) next = env.next;
    else if (last && isStixTimestamp(last)) {
      // §5.3: with more but no next, continue from the last date added of this page.
      next = undefined;
      addedAfter = last;
    } else throw new IotcleanError('E_TAXII', `${url}: more objects announced but neither next nor X-TAXII-Date-Added-Last given`);
  }
  // Only a pull that reached the end moves the cursor: a batch may span pages.
  await share.saveCursor({ source, addedAfter: newest, pulledMs: now(), objects: (before?.objects ?? 0) + totals.added + totals.updated });
  return { source, pages, objects, invalid, problems, addedAfter: newest, ...totals };
}

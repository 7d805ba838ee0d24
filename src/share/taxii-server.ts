/**
 * A TAXII 2.1 server (OASIS TAXII 2.1, §4 discovery and API roots, §5 collections) over the share
 * repository: discovery at /taxii2/, one API root, collections, objects (GET with added_after,
 * limit, next and match[...]; POST into writable collections), one object and its versions,
 * manifests, and status. Every request carries a bearer token that names a peer ISP; a collection
 * the ISP has no grant on is 404 (it does not exist for it), one it can see but not read is 403.
 * Errors are TAXII error messages. Served on 127.0.0.1 by default.
 */
import { randomUUID } from 'node:crypto';
import { serveFetch } from '../core/http-server.js';
import { Hono, type Context } from 'hono';
import { stableId } from './ids.js';
import type { ShareCollection, ShareRepository, StoredObject } from '../store/share.js';
import { authenticate, canRead, canWrite, type AccessTable, type IspAccess } from './access.js';
import type { StixObject } from './types.js';
import { isStixTimestamp, validateStixObject } from './validate.js';

export const taxiiMediaType = 'application/taxii+json;version=2.1';
export const stixMediaType = 'application/stix+json;version=2.1';

/** Largest page a client gets, whatever limit it asks for, and the default. */
export const maxPageSize = 1000;
const defaultPageSize = 100;
const maxContentLength = 10 * 1024 * 1024;

export interface TaxiiServerOptions {
  readonly share: ShareRepository;
  readonly access: AccessTable;
  readonly title?: string;
  readonly description?: string;
  /** The API root's path segment: /<apiRoot>/ (default "iotclean"). */
  readonly apiRoot?: string;
  readonly now?: () => number;
}

type Env = { Variables: { isp: IspAccess } };

interface StatusResource {
  readonly id: string;
  readonly isp: string;
  readonly body: Record<string, unknown>;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** A TAXII error message (§3.6.1): http_status is a string. */
function taxiiError(c: Context, status: 400 | 401 | 403 | 404 | 406 | 413 | 415 | 422 | 500, title: string, description?: string) {
  if (status === 401) c.header('WWW-Authenticate', 'Bearer realm="taxii"');
  return c.body(JSON.stringify({ title, ...(description ? { description } : {}), http_status: String(status) }), status, { 'Content-Type': taxiiMediaType });
}

const taxii = (c: Context, value: unknown, status: 200 | 202 = 200, headers: Record<string, string> = {}) =>
  c.body(JSON.stringify(value), status, { 'Content-Type': taxiiMediaType, ...headers });

/** Media ranges of an Accept header, without parameters other than version, lowercased. */
function accepts(header: string | undefined, kinds: readonly ('taxii' | 'stix')[]): 'taxii' | 'stix' | undefined {
  if (header === undefined || header.trim() === '') return kinds[0];
  for (const part of header.split(',')) {
    const [type = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    const version = params.find((p) => p.startsWith('version='))?.slice(8);
    if (version !== undefined && version !== '2.1') continue;
    if (type === '*/*' || type === 'application/*') return kinds[0];
    if (type === 'application/taxii+json' && kinds.includes('taxii')) return 'taxii';
    if (type === 'application/stix+json' && kinds.includes('stix')) return 'stix';
  }
  return undefined;
}

/** The page parameters of objects, manifest and versions requests, or the message of a 400. */
function pageQuery(c: Context): { addedAfterMs?: number; afterSeq?: number; limit: number; ids?: string[]; types?: string[]; versions?: string[]; specVersions?: string[] } | string {
  const q: ReturnType<typeof pageQuery> & object = { limit: defaultPageSize };
  const addedAfter = c.req.query('added_after');
  if (addedAfter !== undefined) {
    if (!isStixTimestamp(addedAfter)) return `added_after "${addedAfter}" is not an RFC 3339 timestamp ending in Z`;
    q.addedAfterMs = Date.parse(addedAfter);
  }
  const limit = c.req.query('limit');
  if (limit !== undefined) {
    if (!/^\d{1,9}$/.test(limit) || Number(limit) < 1) return `limit "${limit}" is not a positive whole number`;
    q.limit = Math.min(Number(limit), maxPageSize);
  }
  const next = c.req.query('next');
  if (next !== undefined) {
    const m = /^s(\d{1,15})$/.exec(next);
    if (!m) return `next "${next}" is not a value this server gave`;
    q.afterSeq = Number(m[1]);
  }
  const list = (name: string) => c.req.queries(name)?.flatMap((v) => v.split(',')).map((s) => s.trim()).filter((s) => s !== '');
  const ids = list('match[id]');
  const types = list('match[type]');
  const versions = list('match[version]');
  const specVersions = list('match[spec_version]');
  if (ids) q.ids = ids;
  if (types) q.types = types;
  if (versions) {
    for (const v of versions) if (v !== 'last' && v !== 'first' && v !== 'all' && !isStixTimestamp(v)) return `match[version] "${v}" is not last, first, all or a timestamp`;
    q.versions = versions;
  }
  if (specVersions) q.specVersions = specVersions;
  return q;
}

function addedHeaders(rows: readonly StoredObject[]): Record<string, string> {
  if (rows.length === 0) return {};
  return { 'X-TAXII-Date-Added-First': iso(Math.min(...rows.map((r) => r.dateAddedMs))), 'X-TAXII-Date-Added-Last': iso(Math.max(...rows.map((r) => r.dateAddedMs))) };
}

/** The TAXII server as a hono app (tests may call app.request(); serveTaxii listens). */
export function createTaxiiApp(o: TaxiiServerOptions): Hono<Env> {
  const now = o.now ?? Date.now;
  const root = o.apiRoot ?? 'iotclean';
  const statuses = new Map<string, StatusResource>();
  const app = new Hono<Env>({ strict: false });

  app.onError((e, c) => {
    console.error(`taxii: ${c.req.method} ${c.req.path}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    return taxiiError(c, 500, 'Internal error', 'the server failed; see its log');
  });
  app.notFound((c) => taxiiError(c, 404, 'Not found', `no TAXII resource at ${c.req.path}`));

  app.use('*', async (c, next) => {
    const auth = c.req.header('Authorization') ?? '';
    const m = /^Bearer\s+(\S+)$/i.exec(auth);
    const isp = m ? authenticate(o.access, m[1]!) : undefined;
    if (!isp) return taxiiError(c, 401, 'Unauthorized', m ? 'the bearer token is not known here' : 'send Authorization: Bearer <token>');
    c.set('isp', isp);
    const kinds: ('taxii' | 'stix')[] = /\/objects\/?$/.test(c.req.path) && c.req.method === 'GET' ? ['taxii', 'stix'] : ['taxii'];
    if (!accepts(c.req.header('Accept'), kinds)) return taxiiError(c, 406, 'Not acceptable', `this server answers ${kinds.map((k) => (k === 'taxii' ? taxiiMediaType : stixMediaType)).join(' or ')}`);
    await next();
  });

  app.get('/taxii2', (c) => {
    const base = new URL(c.req.url);
    return taxii(c, {
      title: o.title ?? 'iotclean TAXII server',
      description: o.description ?? 'IoT botnet C&C candidates from flow records',
      default: `${base.origin}/${root}/`,
      api_roots: [`${base.origin}/${root}/`],
    });
  });

  const api = new Hono<Env>({ strict: false });
  api.get('/', (c) =>
    taxii(c, { title: o.title ?? 'iotclean C&C lists', description: o.description ?? 'IoT botnet C&C candidates from flow records', versions: [taxiiMediaType], max_content_length: maxContentLength }),
  );

  const collectionJson = (col: ShareCollection, isp: IspAccess) => ({
    id: col.id,
    title: col.title,
    description: col.description,
    ...(col.alias ? { alias: col.alias } : {}),
    can_read: canRead(isp, col),
    can_write: canWrite(isp, col),
    media_types: [stixMediaType],
  });
  /** The collection if the ISP may see it at all; otherwise it does not exist for them. */
  const visible = async (c: Context<Env>): Promise<ShareCollection | undefined> => {
    const col = await o.share.collection(c.req.param('collection') ?? '');
    const isp = c.get('isp');
    // Only the collection id addresses a collection in TAXII; an alias never does.
    return col && col.id === c.req.param('collection') && (canRead(isp, col) || canWrite(isp, col)) ? col : undefined;
  };

  api.get('/collections', async (c) => {
    const isp = c.get('isp');
    const cols = (await o.share.collections()).filter((col) => canRead(isp, col) || canWrite(isp, col));
    return taxii(c, cols.length ? { collections: cols.map((col) => collectionJson(col, isp)) } : {});
  });
  api.get('/collections/:collection', async (c) => {
    const col = await visible(c);
    return col ? taxii(c, collectionJson(col, c.get('isp'))) : taxiiError(c, 404, 'Collection not found');
  });

  /** Read access or the error response. */
  const readable = async (c: Context<Env>): Promise<ShareCollection | Response> => {
    const col = await visible(c);
    if (!col) return taxiiError(c, 404, 'Collection not found');
    if (!canRead(c.get('isp'), col)) return taxiiError(c, 403, 'Forbidden', `${c.get('isp').isp} may not read this collection`);
    return col;
  };
  const page = async (c: Context<Env>, col: ShareCollection, extra: { ids?: string[] } = {}) => {
    const q = pageQuery(c);
    if (typeof q === 'string') return q;
    // Only STIX 2.1 objects are held: asking for other spec versions is an empty answer.
    if (q.specVersions && !q.specVersions.includes('2.1')) return { rows: [] as StoredObject[], more: false };
    const { specVersions: _s, ...rest } = q;
    return o.share.objects(col.id, { ...rest, ...(extra.ids ? { ids: extra.ids } : {}) });
  };
  const envelope = (c: Context<Env>, p: { rows: StoredObject[]; more: boolean }, as: 'taxii' | 'stix') => {
    const headers = addedHeaders(p.rows);
    if (as === 'stix') {
      // application/stix+json is a bundle; its id is stable for the same object versions.
      const objects = p.rows.map((r) => r.object);
      return c.body(JSON.stringify({ type: 'bundle', id: stableId('bundle', ...p.rows.map((r) => `${r.id}@${r.version}`)), ...(objects.length ? { objects } : {}) }), 200, { 'Content-Type': stixMediaType, ...headers });
    }
    if (!p.rows.length) return taxii(c, { more: false }, 200, headers);
    // The stored JSON is spliced in as it is: no parse and re-serialise of every object.
    const head = JSON.stringify({ more: p.more, ...(p.more ? { next: `s${p.rows.at(-1)!.seq}` } : {}) }).slice(0, -1);
    return c.body(`${head},"objects":[${p.rows.map((r) => r.body).join(',')}]}`, 200, { 'Content-Type': taxiiMediaType, ...headers });
  };

  api.get('/collections/:collection/objects', async (c) => {
    const col = await readable(c);
    if (col instanceof Response) return col;
    const p = await page(c, col);
    if (typeof p === 'string') return taxiiError(c, 400, 'Bad request', p);
    return envelope(c, p, accepts(c.req.header('Accept'), ['taxii', 'stix'])!);
  });

  api.post('/collections/:collection/objects', async (c) => {
    const col = await visible(c);
    if (!col) return taxiiError(c, 404, 'Collection not found');
    if (!canWrite(c.get('isp'), col)) return taxiiError(c, 403, 'Forbidden', `${c.get('isp').isp} may not write to this collection`);
    const type = (c.req.header('Content-Type') ?? '').replace(/\s+/g, '').toLowerCase();
    if (type !== taxiiMediaType) return taxiiError(c, 415, 'Unsupported media type', `send ${taxiiMediaType}`);
    const length = Number(c.req.header('Content-Length') ?? '0');
    if (length > maxContentLength) return taxiiError(c, 413, 'Too large', `at most ${maxContentLength} bytes`);
    const text = await c.req.text();
    if (text.length > maxContentLength) return taxiiError(c, 413, 'Too large', `at most ${maxContentLength} bytes`);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return taxiiError(c, 400, 'Bad request', 'the body is not JSON');
    }
    const objects = (body as { objects?: unknown } | null)?.objects;
    if (!Array.isArray(objects)) return taxiiError(c, 422, 'Unprocessable', 'send an envelope {"objects":[...]}');
    const good: StixObject[] = [];
    const failures: { id: string; version: string; message: string }[] = [];
    for (const x of objects) {
      const errs = validateStixObject(x);
      const id = typeof (x as StixObject)?.id === 'string' ? (x as StixObject).id : '(no id)';
      const version = String((x as StixObject)?.modified ?? (x as StixObject)?.created ?? '');
      if (errs.length) failures.push({ id, version, message: errs.slice(0, 5).join('; ') });
      else good.push(x as StixObject);
    }
    const requested = now();
    await o.share.addObjects(col.id, good, requested);
    // What a peer pushes is intelligence received, as if we had pulled it.
    await o.share.mergeReceived(`taxii-post:${c.get('isp').isp}`, good, requested);
    const id = randomUUID();
    const status = {
      id,
      status: 'complete',
      request_timestamp: iso(requested),
      total_count: objects.length,
      success_count: good.length,
      successes: good.map((g) => ({ id: g.id, version: String(g.modified ?? g.created ?? '') })),
      failure_count: failures.length,
      ...(failures.length ? { failures } : {}),
      pending_count: 0,
    };
    statuses.set(id, { id, isp: c.get('isp').isp, body: status });
    // A bounded memory of statuses: the oldest goes first.
    if (statuses.size > 1000) statuses.delete(statuses.keys().next().value!);
    return taxii(c, status, 202);
  });

  api.get('/collections/:collection/objects/:object', async (c) => {
    const col = await readable(c);
    if (col instanceof Response) return col;
    const p = await page(c, col, { ids: [c.req.param('object')] });
    if (typeof p === 'string') return taxiiError(c, 400, 'Bad request', p);
    if (p.rows.length === 0 && c.req.query('next') === undefined) return taxiiError(c, 404, 'Object not found');
    return envelope(c, p, 'taxii');
  });

  api.get('/collections/:collection/objects/:object/versions', async (c) => {
    const col = await readable(c);
    if (col instanceof Response) return col;
    const q = pageQuery(c);
    if (typeof q === 'string') return taxiiError(c, 400, 'Bad request', q);
    const { specVersions: _s, versions: _v, ...rest } = q;
    const p = await o.share.objects(col.id, { ...rest, ids: [c.req.param('object')], versions: ['all'] });
    if (p.rows.length === 0 && q.afterSeq === undefined) return taxiiError(c, 404, 'Object not found');
    return taxii(c, { more: p.more, ...(p.more ? { next: `s${p.rows.at(-1)!.seq}` } : {}), versions: p.rows.map((r) => r.version) }, 200, addedHeaders(p.rows));
  });

  api.get('/collections/:collection/manifest', async (c) => {
    const col = await readable(c);
    if (col instanceof Response) return col;
    const p = await page(c, col);
    if (typeof p === 'string') return taxiiError(c, 400, 'Bad request', p);
    const objects = p.rows.map((r) => ({ id: r.id, date_added: iso(r.dateAddedMs), version: r.version, media_type: stixMediaType }));
    return taxii(c, objects.length ? { more: p.more, ...(p.more ? { next: `s${p.rows.at(-1)!.seq}` } : {}), objects } : { more: false }, 200, addedHeaders(p.rows));
  });

  api.get('/status/:status', (c) => {
    const s = statuses.get(c.req.param('status'));
    // Another ISP's status is not theirs to see.
    return s && s.isp === c.get('isp').isp ? taxii(c, s.body) : taxiiError(c, 404, 'Status not found');
  });

  app.route(`/${root}`, api);
  return app;
}

export interface RunningTaxii {
  /** The discovery URL, e.g. http://127.0.0.1:9000/taxii2/ */
  readonly discoveryUrl: string;
  /** The API root URL, ending in / */
  readonly apiRootUrl: string;
  close(): Promise<void>;
}

/** Listen on host:port (127.0.0.1 and a free port by default). */
export async function serveTaxii(app: Hono<Env>, options: { readonly host?: string; readonly port?: number; readonly apiRoot?: string } = {}): Promise<RunningTaxii> {
  const running = await serveFetch(app.fetch, options);
  return { discoveryUrl: `${running.url}/taxii2/`, apiRootUrl: `${running.url}/${options.apiRoot ?? 'iotclean'}/`, close: running.close };
}

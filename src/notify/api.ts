/**
 * The centre's notification API for ISPs (hono). Each request carries an ISP's bearer token
 * (RFC 6750); every answer is computed for that ISP only: its batch list, its batches, its
 * findings. Another ISP's ticket answers 404 exactly as an unknown one (403 would confirm it
 * exists). Findings come through `source(isp, filter)`, and are checked again here to belong to
 * the ISP, so a wrong source cannot leak another ISP's findings. Batch bodies stream.
 *
 *   GET /api/v1/batches                      the ISP's batches, newest first
 *   GET /api/v1/batches/:ticket[?format=…]   one batch: json (default), csv or intelmq
 *   GET /api/v1/findings?since=ID[&limit=N]  the ISP's findings with id > ID, in id order
 */
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { serveFetch, type RunningServer } from '../core/http-server.js';
import type { Finding } from '../core/records.js';
import type { FindingFilter } from '../findings/types.js';
import type { BatchRow, NotificationRepository } from '../store/notifications.js';
import { formats, type BatchMeta, type FormatName } from './formats/index.js';
import { publicFinding } from './public.js';
import { ispOfToken, type TokenEntry } from './tokens.js';

/** Where the API reads findings: the ISP's own, by filter (ordered by id). */
export type FindingSource = (isp: string, filter: FindingFilter) => AsyncIterable<Finding>;

export interface NotifyApiOptions {
  readonly source: FindingSource;
  readonly batches: Pick<NotificationRepository, 'list' | 'get'>;
  /** Tokens from a tokens file (`iotclean notify serve`). */
  readonly tokens?: readonly TokenEntry[];
  /** Tokens kept elsewhere (the web portal's store): the ISP of a live token, or undefined. */
  readonly lookup?: (token: string) => Promise<string | undefined>;
}

/** Findings per page of /api/v1/findings: the default and the most a client may ask for. */
export const findingsPage = { default: 1000, max: 10000 } as const;

type Env = { Variables: { isp: string } };

const findingsQuery = z.object({
  since: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(findingsPage.max).default(findingsPage.default),
});
const batchQuery = z.object({ format: z.enum(Object.keys(formats) as [FormatName, ...FormatName[]]).default('json') });

const problem = (c: Context, status: 400 | 401 | 404 | 500, error: string) => c.json({ error }, status);

/** A batch as listed: what it holds and where it went, never findings. */
function summary(b: BatchRow) {
  return { ticket: b.ticket, isp: b.isp, createdAt: b.createdAt, findingCount: b.findingCount, counts: b.counts, files: b.files, deliveries: b.deliveries };
}

/** The ISP's findings of a batch: its id range, and only the ISP's. */
async function* batchFindings(source: FindingSource, b: BatchRow): AsyncGenerator<Finding> {
  for await (const f of source(b.isp, { isp: b.isp, afterId: b.afterFindingId })) {
    if (f.isp !== b.isp || f.id === undefined || f.id <= b.afterFindingId || f.id > b.maxFindingId) continue;
    yield f;
  }
}

/** A stream of text chunks as a web ReadableStream (stops reading when the client goes away). */
export function textStream(chunks: AsyncGenerator<string>): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        // A few rows per pull: one enqueue per row would be slow, a whole batch unbounded.
        let text = '';
        for (;;) {
          const next = await chunks.next();
          if (next.done) {
            if (text) controller.enqueue(encoder.encode(text));
            controller.close();
            return;
          }
          text += next.value;
          if (text.length >= 1 << 16) break;
        }
        controller.enqueue(encoder.encode(text));
      } catch (e) {
        controller.error(e);
      }
    },
    async cancel() {
      await chunks.return(undefined);
    },
  });
}

/** The API as a hono app (serve it with serveNotifyApi, or mount it in a bigger app). */
export function createNotifyApi(options: NotifyApiOptions): Hono<Env> {
  const { source, batches, tokens = [], lookup } = options;
  const app = new Hono<Env>();

  app.onError((e, c) => {
    console.error(`notify api: ${c.req.method} ${c.req.path}: ${e instanceof Error ? e.message : String(e)}`);
    return problem(c, 500, 'internal error');
  });
  app.notFound((c) => problem(c, 404, 'not found'));

  app.use('/api/v1/*', async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    const m = /^Bearer[ ]+([A-Za-z0-9._~+/=-]{1,512})[ ]*$/i.exec(header);
    const isp = m ? (ispOfToken(tokens, m[1]!) ?? (lookup ? await lookup(m[1]!) : undefined)) : undefined;
    if (isp === undefined) {
      c.header('WWW-Authenticate', m ? 'Bearer realm="iotclean", error="invalid_token"' : 'Bearer realm="iotclean"');
      return problem(c, 401, m ? 'invalid token' : 'a bearer token is required (Authorization: Bearer <token>)');
    }
    c.set('isp', isp);
    c.header('Cache-Control', 'no-store');
    await next();
  });

  app.get('/api/v1/batches', async (c) => {
    const isp = c.get('isp');
    const rows = await batches.list({ isp });
    return c.json({ isp, batches: rows.filter((b) => b.isp === isp).map(summary) });
  });

  app.get('/api/v1/batches/:ticket', async (c) => {
    const isp = c.get('isp');
    const query = batchQuery.safeParse(c.req.query());
    if (!query.success) return problem(c, 400, `format must be one of ${Object.keys(formats).join(', ')}`);
    const b = await batches.get(c.req.param('ticket'));
    if (!b || b.isp !== isp) return problem(c, 404, 'not found');
    const format = formats[query.data.format];
    const meta: BatchMeta = { ticket: b.ticket, isp: b.isp, createdAt: b.createdAt };
    async function* body(): AsyncGenerator<string> {
      yield format.head(meta);
      let i = 0;
      for await (const f of batchFindings(source, b!)) yield format.row(f, meta, i++);
      yield format.tail(meta, i);
    }
    return new Response(textStream(body()), { status: 200, headers: { 'Content-Type': format.mediaType, 'Cache-Control': 'no-store', 'Content-Disposition': `attachment; filename="${b.ticket}.${format.extension}"` } });
  });

  app.get('/api/v1/findings', async (c) => {
    const isp = c.get('isp');
    const query = findingsQuery.safeParse(c.req.query());
    if (!query.success) return problem(c, 400, `since must be a finding id (a whole number ≥ 0) and limit 1…${findingsPage.max}`);
    const { since, limit } = query.data;
    const out: Finding[] = [];
    for await (const f of source(isp, { isp, afterId: since })) {
      if (f.isp !== isp || f.id === undefined || f.id <= since) continue;
      out.push(publicFinding(f));
      if (out.length >= limit) break;
    }
    const last = out.at(-1)?.id;
    return c.json({ isp, since, findings: out, next: out.length >= limit && last !== undefined ? last : null });
  });

  return app;
}

/** A running API server. */
export type RunningApi = RunningServer;

/** Serve the API on host:port (127.0.0.1 by default; port 0 picks a free one). */
export function serveNotifyApi(app: Hono<Env>, options: { readonly host?: string; readonly port?: number } = {}): Promise<RunningApi> {
  return serveFetch(app.fetch, options);
}

/**
 * The notification API over real HTTP on loopback (127.9x): ISP A never gets ISP B's findings by
 * any URL; no token or a wrong one is 401; another ISP's ticket is 404 like an unknown one; batch
 * bodies in every format; findings paging; a lying source cannot leak. Batches come from a real
 * store (SQLite), built by groupFindings.
 */
import { request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Finding } from '../core/records.js';
import { createRng } from '../core/rng.js';
import { openStore } from '../store/open.js';
import type { Store } from '../store/store.js';
import { createNotifyApi, serveNotifyApi, type FindingSource, type RunningApi } from './api.js';
import { groupFindings, memoryWriter, ticketId } from './batch.js';
import { finding, parseCsv } from './test-support.js';
import { parseTokens, tokenDigest } from './tokens.js';

const dir = mkdtempSync(join(tmpdir(), 'iotclean-notify-api-'));
const rng = createRng(`notify-api-${process.pid}`);
const host = `127.${90 + rng.int(10)}.${rng.int(256)}.1`;
const tokenA = 'tokenA-' + 'a'.repeat(40);
const tokenB = 'tokenB-' + 'b'.repeat(40);
const tokens = parseTokens(`isp_id,sha256\nispa,${tokenDigest(tokenA)}\nispb,${tokenDigest(tokenB)}\n`);

// ISP B's findings carry a marker that must never reach ISP A.
const all: Finding[] = [];
for (let id = 1; id <= 60; id++) {
  const isp = id % 3 === 0 ? 'ispb' : id % 7 === 0 ? null : 'ispa';
  all.push(finding(isp, id, isp === 'ispb' ? { device: { type: 'camera', vendor: 'SecretB', model: 'B-ONLY', firmware: null } } : {}));
}
const honest: FindingSource = async function* (isp, filter) {
  for (const f of all) if (f.isp === isp && (f.id ?? 0) > (filter.afterId ?? 0)) yield f;
};
/** A broken source that ignores the ISP: the API must still never pass B's findings to A. */
const lying: FindingSource = async function* () {
  yield* all;
};

let store: Store;
let api: RunningApi;
let liar: RunningApi;

interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

function get(base: string, path: string, token?: string, raw?: string): Promise<Reply> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', headers: raw !== undefined ? { authorization: raw } : token ? { authorization: `Bearer ${token}` } : {} }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(20_000, () => req.destroy(new Error('timeout')));
    req.end();
  });
}

let ticketA1 = '';
let ticketA2 = '';
let ticketB1 = '';

beforeAll(async () => {
  store = await openStore(join(dir, 'api.db'));
  const at = new Date('2026-12-01T10:00:00.000Z');
  const run = async (findings: readonly Finding[]) => {
    const r = await groupFindings(findings, {
      since: await store.notifications.lastFindingIds(),
      meta: async (isp) => ({ ticket: ticketId(isp, at, await store.notifications.nextSequence(isp, '20261201')), isp, createdAt: at.toISOString() }),
      writer: () => memoryWriter(),
    });
    for (const b of r.batches) await store.notifications.create({ ticket: b.meta.ticket, isp: b.meta.isp, createdAt: b.meta.createdAt, findingCount: b.findingCount, afterFindingId: b.afterFindingId, maxFindingId: b.maxFindingId, counts: b.counts, files: [] });
    return r.batches.map((b) => b.meta.ticket);
  };
  [ticketA1 = '', ticketB1 = ''] = await run(all.slice(0, 30));
  [ticketA2 = ''] = await run(all.filter((f) => f.isp === 'ispa'));
  api = await serveNotifyApi(createNotifyApi({ source: honest, batches: store.notifications, tokens }), { host });
  liar = await serveNotifyApi(createNotifyApi({ source: lying, batches: store.notifications, tokens }), { host });
}, 60_000);

afterAll(async () => {
  await api?.close();
  await liar?.close();
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('notify API over HTTP', () => {
  it('made the batches expected', () => {
    expect([ticketA1, ticketB1, ticketA2]).toEqual(['IOTC-20261201-ispa-0001', 'IOTC-20261201-ispb-0001', 'IOTC-20261201-ispa-0002']);
  });

  it.each([
    ['no header', undefined, undefined],
    ['a wrong token', 'nope', undefined],
    ['the digest instead of the token', tokenDigest(tokenA), undefined],
    ['another scheme', undefined, `Basic ${Buffer.from('ispa:x').toString('base64')}`],
  ])('refuses %s with 401', async (_what, token, raw) => {
    for (const path of ['/api/v1/batches', `/api/v1/batches/${ticketA1}`, '/api/v1/findings?since=0']) {
      const r = await get(api.url, path, token, raw);
      expect(r.status).toBe(401);
      expect(r.headers['www-authenticate']).toMatch(/^Bearer/);
      expect(r.body).not.toContain('127.90');
    }
  });

  it('lists only the ISP\'s own batches', async () => {
    const a = JSON.parse((await get(api.url, '/api/v1/batches', tokenA)).body) as { isp: string; batches: { ticket: string; findingCount: number }[] };
    expect(a.isp).toBe('ispa');
    expect(a.batches.map((b) => b.ticket).sort()).toEqual([ticketA1, ticketA2]);
    const b = JSON.parse((await get(api.url, '/api/v1/batches', tokenB)).body) as { batches: { ticket: string; findingCount: number }[] };
    expect(b.batches.map((x) => x.ticket)).toEqual([ticketB1]);
    expect(b.batches[0]!.findingCount).toBe(10);
  });

  it('serves a batch in JSON, CSV and IntelMQ with exactly its findings', async () => {
    const expected = all.filter((f) => f.isp === 'ispa' && f.id! <= 30).map((f) => f.id);
    const json = JSON.parse((await get(api.url, `/api/v1/batches/${ticketA1}`, tokenA)).body) as { ticket: string; findings: Finding[]; count: number };
    expect(json.ticket).toBe(ticketA1);
    expect(json.findings.map((f) => f.id)).toEqual(expected);
    const csv = await get(api.url, `/api/v1/batches/${ticketA1}?format=csv`, tokenA);
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    const rows = parseCsv(csv.body);
    expect(rows.slice(1).map((r) => Number(r[rows[0]!.indexOf('finding_id')]))).toEqual(expected);
    const intelmq = (await get(api.url, `/api/v1/batches/${ticketA1}?format=intelmq`, tokenA)).body.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(intelmq.map((e) => e['extra.finding_id'])).toEqual(expected);
    const second = JSON.parse((await get(api.url, `/api/v1/batches/${ticketA2}`, tokenA)).body) as { findings: Finding[] };
    expect(second.findings.map((f) => f.id)).toEqual(all.filter((f) => f.isp === 'ispa' && f.id! > 30).map((f) => f.id));
  });

  it('answers 404 for another ISP\'s ticket exactly as for an unknown one', async () => {
    const other = await get(api.url, `/api/v1/batches/${ticketB1}`, tokenA);
    const unknown = await get(api.url, '/api/v1/batches/IOTC-20261201-ispb-0099', tokenA);
    expect(other.status).toBe(404);
    expect(other.body).toBe(unknown.body);
    expect(unknown.status).toBe(404);
    expect((await get(api.url, `/api/v1/batches/${ticketB1}?format=csv`, tokenA)).status).toBe(404);
  });

  it('pages the ISP\'s findings since an id', async () => {
    const seen: number[] = [];
    let since = 0;
    for (let page = 0; page < 20; page++) {
      const r = JSON.parse((await get(api.url, `/api/v1/findings?since=${since}&limit=7`, tokenA)).body) as { findings: Finding[]; next: number | null };
      seen.push(...r.findings.map((f) => f.id!));
      if (r.next === null) break;
      since = r.next;
    }
    expect(seen).toEqual(all.filter((f) => f.isp === 'ispa').map((f) => f.id));
  });

  it('refuses bad query values with 400', async () => {
    for (const q of ['since=-1', 'since=abc', 'limit=0', 'limit=100000', 'since=1.5']) expect((await get(api.url, `/api/v1/findings?${q}`, tokenA)).status).toBe(400);
    expect((await get(api.url, `/api/v1/batches/${ticketA1}?format=xml`, tokenA)).status).toBe(400);
  });

  it('never gives ISP A a finding of ISP B, by any URL, even from a source that ignores the ISP', async () => {
    const paths = ['/api/v1/batches', `/api/v1/batches/${ticketA1}`, `/api/v1/batches/${ticketA2}`, `/api/v1/batches/${ticketB1}`, '/api/v1/findings', '/api/v1/findings?since=0&limit=10000'];
    for (const f of formatsOf()) paths.push(`/api/v1/batches/${ticketA1}?format=${f}`, `/api/v1/batches/${ticketB1}?format=${f}`);
    paths.push(`/api/v1/batches/${encodeURIComponent('../batches')}`, `/api/v1/batches/${ticketB1}/`, `/api/v1//batches/${ticketB1}`, `/API/v1/batches/${ticketB1}`, `/api/v1/batches/${ticketB1.toLowerCase()}`);
    for (const base of [api.url, liar.url]) {
      for (const path of paths) {
        const r = await get(base, path, tokenA);
        expect(r.body, `${base}${path}`).not.toContain('B-ONLY');
        expect(r.body, `${base}${path}`).not.toContain('ispb"');
      }
    }
    // And the liar still gives ISP B its own.
    expect((await get(liar.url, `/api/v1/batches/${ticketB1}`, tokenB)).body).toContain('B-ONLY');
  });
});

function formatsOf(): string[] {
  return ['json', 'csv', 'intelmq'];
}

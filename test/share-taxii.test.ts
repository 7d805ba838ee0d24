/**
 * The TAXII 2.1 server and client on loopback, on every store back end: ISP-A serves its C&C list,
 * ISP-B pulls it with its token and merges it; per-ISP access (404 for a collection an ISP has no
 * grant on, 403 for one it may only write), paging with next and added_after, the date-added
 * headers, manifests, versions, POST into an inbox, and TAXII error messages.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAccess } from '../src/share/access.js';
import { exportCollection, publishBundle } from '../src/share/publish.js';
import { buildBundle } from '../src/share/stix.js';
import { receivedEndpoints } from '../src/share/received.js';
import { pullCollection } from '../src/share/taxii-client.js';
import { createTaxiiApp, serveTaxii, stixMediaType, taxiiMediaType, type RunningTaxii } from '../src/share/taxii-server.js';
import { candidate, check, sampleEntries } from '../src/share/test-support.js';
import { defaultShareOptions, type ShareEntry, type StixObject } from '../src/share/types.js';
import { validateStixBundle } from '../src/share/validate.js';
import { openStore } from '../src/store/open.js';
import type { Store } from '../src/store/store.js';
import { storeBackends } from '../src/store/test-support.js';

// Two ISPs, two databases: on PostgreSQL each store needs a schema of its own.
const storesA = storeBackends('share-taxii-a', { fresh: true });
const storesB = storeBackends('share-taxii-b', { fresh: true });
const backends = storesA.backends.map(([name, locA], i) => [name, locA, storesB.backends[i]![1]] as const);
afterAll(async () => {
  await storesA.cleanup();
  await storesB.cleanup();
});

const tokenB = 'isp-b-token-0123456789abcdef';
const tokenC = 'isp-c-token-0123456789abcdef';
const inboxB = '22222222-2222-4222-8222-222222222222';
const privateId = '33333333-3333-4333-8333-333333333333';
const access = parseAccess(
  JSON.stringify({
    tokens: [
      { isp: 'ISP-B', token: tokenB, read: ['c2'], write: [inboxB] },
      // ISP-C's entry holds only the token's hash.
      { isp: 'ISP-C', token_sha256: createHash('sha256').update(tokenC).digest('hex'), read: ['c2'] },
    ],
  }),
  'tokens.json',
);

const now = Date.parse('2026-11-28T00:00:00.000Z');
const opts = { ...defaultShareOptions, identity: 'ISP-A', minScore: 0 };

/** More candidates, so paging has pages to walk. */
function manyEntries(n: number): ShareEntry[] {
  return Array.from({ length: n }, (_, i) => ({ candidate: candidate(`203.0.113.${i + 1}`, 6000 + i), liveness: [check(`203.0.113.${i + 1}`, 6000 + i, '2026-11-26T00:00:00.000Z', true)], validUntil: null }));
}

describe.each(backends)('TAXII 2.1 server and client on %s', (_name, locationA, locationB) => {
  let a: Store;
  let b: Store;
  let server: RunningTaxii;
  let clock = now;
  const col = exportCollection('ISP-A');
  let published: readonly StixObject[];

  const req = (path: string, token: string | undefined = tokenB, init: RequestInit = {}) =>
    fetch(new URL(path, server.discoveryUrl).href, { ...init, headers: { Accept: taxiiMediaType, ...(token ? { Authorization: `Bearer ${token}` } : {}), ...((init.headers as Record<string, string>) ?? {}) } });

  beforeAll(async () => {
    a = await openStore(await locationA());
    b = await openStore(await locationB());
    await a.share.ensureCollection(col, now);
    await a.share.ensureCollection({ id: inboxB, alias: 'inbox-isp-b', title: 'From ISP-B', description: 'ISP-B may write here', kind: 'inbox' }, now);
    await a.share.ensureCollection({ id: privateId, alias: 'private', title: 'Ours only', description: 'no grants', kind: 'inbox' }, now);
    published = (await buildBundle([...sampleEntries(), ...manyEntries(6)], opts, now)).bundle.objects;
    await publishBundle(a.share, col.id, { type: 'bundle', id: 'bundle--00000000-0000-4000-8000-000000000000', objects: published }, now);
    server = await serveTaxii(createTaxiiApp({ share: a.share, access, now: () => clock }));
  });
  afterAll(async () => {
    await server?.close();
    await a?.close();
    await b?.close();
  });

  it('discovery and API root', async () => {
    const d = await req('/taxii2/');
    expect(d.status).toBe(200);
    expect(d.headers.get('content-type')).toBe(taxiiMediaType);
    const dj = (await d.json()) as { api_roots: string[]; default: string };
    expect(dj.api_roots).toEqual([server.apiRootUrl]);
    const r = (await (await req(dj.default)).json()) as { versions: string[]; max_content_length: number };
    expect(r.versions).toEqual([taxiiMediaType]);
    expect(r.max_content_length).toBeGreaterThan(0);
  });

  it('per-ISP access: each ISP sees only its grants; 401 without a token, 404 for a collection without grant, 403 for write-only', async () => {
    const cb = (await (await req('/iotclean/collections/')).json()) as { collections: { id: string; can_read: boolean; can_write: boolean; media_types: string[] }[] };
    expect(cb.collections.map((c) => [c.id, c.can_read, c.can_write]).sort()).toEqual(
      [
        [col.id, true, false],
        [inboxB, false, true],
      ].sort(),
    );
    expect(cb.collections[0]!.media_types).toEqual([stixMediaType]);
    const cc = (await (await req('/iotclean/collections/', tokenC)).json()) as { collections: { id: string }[] };
    expect(cc.collections.map((c) => c.id)).toEqual([col.id]);

    const none = await req('/iotclean/collections/', '');
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/Bearer/);
    expect(((await none.json()) as { http_status: string }).http_status).toBe('401');
    expect((await req('/iotclean/collections/', 'wrong-token-wrong-token')).status).toBe(401);

    for (const path of [`/iotclean/collections/${privateId}/`, `/iotclean/collections/${privateId}/objects/`, `/iotclean/collections/${inboxB}/objects/`]) {
      const r = await req(path, tokenC);
      expect(r.status, path).toBe(404);
      expect(r.headers.get('content-type')).toBe(taxiiMediaType);
      expect(((await r.json()) as { title: string }).title).toMatch(/not found/i);
    }
    expect((await req(`/iotclean/collections/${inboxB}/objects/`)).status).toBe(403);
    expect((await req(`/iotclean/collections/${col.id}/objects/`, tokenB, { method: 'POST', body: '{}', headers: { 'Content-Type': taxiiMediaType } })).status).toBe(403);
    expect((await req(`/iotclean/collections/${col.id}/`, tokenB, { headers: { Accept: 'text/html' } })).status).toBe(406);
    expect((await req(`/iotclean/collections/${col.id}/objects/?added_after=yesterday`)).status).toBe(400);
    expect((await req(`/iotclean/collections/${col.id}/objects/?next=bogus`)).status).toBe(400);
  });

  it('objects page with limit and next, with the date-added headers; manifest, one object, versions; a bundle for stix+json', async () => {
    const ids: string[] = [];
    let next: string | undefined;
    for (let n = 0; n < 50; n++) {
      const r = await req(`/iotclean/collections/${col.id}/objects/?limit=7${next ? `&next=${next}` : ''}`);
      expect(r.status).toBe(200);
      expect(r.headers.get('x-taxii-date-added-first')).toBe('2026-11-28T00:00:00.000Z');
      expect(r.headers.get('x-taxii-date-added-last')).toBe('2026-11-28T00:00:00.000Z');
      const env = (await r.json()) as { more: boolean; next?: string; objects: StixObject[] };
      expect(env.objects.length).toBeLessThanOrEqual(7);
      ids.push(...env.objects.map((o) => o.id));
      if (!env.more) break;
      next = env.next;
    }
    expect(ids).toEqual(published.map((o) => o.id));

    const after = await req(`/iotclean/collections/${col.id}/objects/?added_after=2026-11-28T00:00:00.000Z`);
    expect(await after.json()).toEqual({ more: false });
    expect(after.headers.get('x-taxii-date-added-first')).toBeNull();

    const typed = (await (await req(`/iotclean/collections/${col.id}/objects/?match[type]=indicator`)).json()) as { objects: StixObject[] };
    expect(typed.objects.length).toBe(published.filter((o) => o.type === 'indicator').length);
    expect(typed.objects.every((o) => o.type === 'indicator')).toBe(true);
    const ind = typed.objects[0]!;

    const man = (await (await req(`/iotclean/collections/${col.id}/manifest/?limit=3`)).json()) as { more: boolean; objects: { id: string; date_added: string; version: string; media_type: string }[] };
    expect(man.more).toBe(true);
    // The first object is the TLP 2.0 marking: no modified, so its version is its published created time.
    expect(man.objects[0]).toEqual({ id: published[0]!.id, date_added: '2026-11-28T00:00:00.000Z', version: '2022-10-01T00:00:00.000Z', media_type: stixMediaType });

    const one = (await (await req(`/iotclean/collections/${col.id}/objects/${ind.id}/`)).json()) as { objects: StixObject[] };
    expect(one.objects).toEqual([ind]);
    expect((await req(`/iotclean/collections/${col.id}/objects/indicator--00000000-0000-4000-8000-000000000000/`)).status).toBe(404);
    const versions = (await (await req(`/iotclean/collections/${col.id}/objects/${ind.id}/versions/`)).json()) as { versions: string[] };
    expect(versions.versions).toEqual([ind.modified]);

    const bundle = await req(`/iotclean/collections/${col.id}/objects/`, tokenB, { headers: { Accept: stixMediaType } });
    expect(bundle.headers.get('content-type')).toBe(stixMediaType);
    expect(validateStixBundle(await bundle.json(), { closed: true })).toEqual([]);
  });

  it('POST into the inbox: valid objects stored, broken ones reported as failures in the status', async () => {
    const good = published.find((o) => o.type === 'indicator')!;
    const bad = { ...good, id: 'indicator--nope', pattern: '[broken' };
    const r = await req(`/iotclean/collections/${inboxB}/objects/`, tokenB, { method: 'POST', headers: { 'Content-Type': taxiiMediaType }, body: JSON.stringify({ objects: [good, bad] }) });
    expect(r.status).toBe(202);
    const status = (await r.json()) as { id: string; status: string; success_count: number; failure_count: number; failures: { id: string; message: string }[] };
    expect(status).toMatchObject({ status: 'complete', success_count: 1, failure_count: 1 });
    expect(status.failures[0]!.message).toMatch(/id/);
    expect((await req(`/iotclean/status/${status.id}/`)).status).toBe(200);
    expect((await req(`/iotclean/status/${status.id}/`, tokenC)).status).toBe(404);
    expect((await a.share.objects(inboxB, { limit: 10, versions: ['all'] })).rows.map((x) => x.id)).toEqual([good.id]);
    expect((await a.share.received({ type: 'indicator' })).map((x) => x.id)).toEqual([good.id]);
    const wrongType = await req(`/iotclean/collections/${inboxB}/objects/`, tokenB, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"objects":[]}' });
    expect(wrongType.status).toBe(415);
  });

  it('the client pulls through discovery with paging, merges, remembers its cursor, and next time gets only what changed', async () => {
    const first = await pullCollection(b.share, { url: server.discoveryUrl, collection: col.id, token: tokenB, pageSize: 5, now: () => clock });
    expect(first).toMatchObject({ objects: published.length, added: published.length, updated: 0, invalid: 0, addedAfter: '2026-11-28T00:00:00.000Z' });
    expect(first.pages).toBe(Math.ceil(published.length / 5));
    expect(await b.share.countReceived()).toBe(published.length);

    // Nothing new: one page, nothing merged.
    const again = await pullCollection(b.share, { url: server.apiRootUrl, collection: col.id, token: tokenB, pageSize: 5 });
    expect(again).toMatchObject({ objects: 0, added: 0, pages: 1 });

    // The dead endpoint answers again: ISP-A re-exports, and only the changed versions travel.
    clock = now + 3_600_000;
    const revived = sampleEntries();
    revived[1] = { ...revived[1]!, liveness: [...revived[1]!.liveness, check('198.51.100.7', 23, '2026-11-28T00:30:00.000Z', true)] };
    const v2 = (await buildBundle([...revived, ...manyEntries(6)], opts, clock)).bundle;
    const pub = await publishBundle(a.share, col.id, v2, clock);
    // The indicator, infrastructure and sighting of that endpoint change; its relationships and address do not.
    expect(pub.added).toBe(3);
    const third = await pullCollection(b.share, { url: server.discoveryUrl, collection: col.id, token: tokenB, pageSize: 5 });
    expect(third).toMatchObject({ objects: 3, added: 0, updated: 3, addedAfter: new Date(clock).toISOString() });
    const ind = (await b.share.received({ type: 'indicator' })).find((o) => String(o.name).includes('198.51.100.7'))!;
    expect(ind.valid_until).toBe('2026-12-05T00:30:00.000Z');
    // Read back as endpoints: the revived one valid again, the one expired by its own verdict not.
    const eps = await receivedEndpoints(b.share, clock);
    expect(eps).toHaveLength(4 + 6);
    expect(eps.find((e) => e.ip === '198.51.100.7')).toMatchObject({ port: 23, proto: 'tcp', valid: true, sharedBy: 'ISP-A', confidence: 97, tlp: 'amber' });
    expect(eps.find((e) => e.port === 4444)).toMatchObject({ proto: 'udp', valid: true, validUntil: '2026-12-30T00:00:00.000Z' });

    // A read grant is needed, and an unknown collection is an error naming the problem.
    await expect(pullCollection(b.share, { url: server.discoveryUrl, collection: privateId, token: tokenB })).rejects.toThrow(/HTTP 404/);
    await expect(pullCollection(b.share, { url: server.discoveryUrl, collection: inboxB, token: tokenB })).rejects.toThrow(/may not read/);
  });
});

/**
 * Benchmark: sharing a large C&C list. N seeded candidates (data only) → STIX bundle (build and
 * validate), published into ISP-A's SQLite store, served by the TAXII 2.1 server on 127.0.0.1, and
 * pulled page by page by ISP-B's client into its own store (every object validated and merged);
 * then pulled again (nothing new) and once more after every candidate changed (every indicator a
 * new version). There is no reference TAXII implementation in Debian or npm to run beside it, so
 * the comparison is the pull against merging the same objects straight into the store (the cost of
 * HTTP, JSON and validation on top of the merge). Prints objects/s.
 *
 * Run: npx tsx bench/share.ts [candidates]   (or npm run bench:share after npm run build)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseAccess } from '../src/share/access.js';
import { exportCollection, publishBundle } from '../src/share/publish.js';
import { buildBundle } from '../src/share/stix.js';
import { pullCollection } from '../src/share/taxii-client.js';
import { createTaxiiApp, serveTaxii } from '../src/share/taxii-server.js';
import { candidate, check } from '../src/share/test-support.js';
import { defaultShareOptions, type ShareEntry } from '../src/share/types.js';
import { validateStixBundle } from '../src/share/validate.js';
import { openStore } from '../src/store/open.js';

const N = Number(process.argv[2] ?? 10_000);
const dir = mkdtempSync(join(tmpdir(), 'iotclean-bench-share-'));
const token = 'bench-token-0123456789abcdef';

function entries(day: number): ShareEntry[] {
  return Array.from({ length: N }, (_, i) => {
    const ip = `198.${18 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
    return { candidate: candidate(ip, 1024 + (i % 60000)), liveness: [check(ip, 1024 + (i % 60000), `2026-11-${String(day).padStart(2, '0')}T00:00:00.000Z`, true)], validUntil: null };
  });
}

const rate = (n: number, ms: number) => `${Math.round((n / ms) * 1000).toLocaleString('en')}/s`;

async function main() {
  const a = await openStore(join(dir, 'a.db'));
  const b = await openStore(join(dir, 'b.db'));
  const direct = await openStore(join(dir, 'direct.db'));
  const opts = { ...defaultShareOptions, identity: 'ISP-A' };
  try {
    let t = performance.now();
    const { bundle } = await buildBundle(entries(26), opts);
    const buildMs = performance.now() - t;
    const objects = bundle.objects.length;
    t = performance.now();
    const errs = validateStixBundle(bundle, { closed: true });
    const validateMs = performance.now() - t;
    if (errs.length) throw new Error(`invalid bundle: ${errs[0]}`);
    const col = await a.share.ensureCollection(exportCollection('ISP-A'), Date.now());
    t = performance.now();
    await publishBundle(a.share, col.id, bundle, Date.now());
    const publishMs = performance.now() - t;
    const server = await serveTaxii(createTaxiiApp({ share: a.share, access: parseAccess(JSON.stringify({ tokens: [{ isp: 'ISP-B', token, read: ['c2'] }] }), 'bench') }));
    try {
      t = performance.now();
      const first = await pullCollection(b.share, { url: server.discoveryUrl, collection: col.id, token, pageSize: 1000 });
      const pullMs = performance.now() - t;
      t = performance.now();
      for (let i = 0; i < bundle.objects.length; i += 1000) await direct.share.mergeReceived('direct', bundle.objects.slice(i, i + 1000), Date.now());
      const directMs = performance.now() - t;
      t = performance.now();
      const again = await pullCollection(b.share, { url: server.discoveryUrl, collection: col.id, token, pageSize: 1000 });
      const againMs = performance.now() - t;
      const { bundle: v2 } = await buildBundle(entries(27), opts);
      await publishBundle(a.share, col.id, v2, Date.now());
      t = performance.now();
      const changed = await pullCollection(b.share, { url: server.discoveryUrl, collection: col.id, token, pageSize: 1000 });
      const changedMs = performance.now() - t;
      console.log(`candidates ${N.toLocaleString('en')}, STIX objects ${objects.toLocaleString('en')}`);
      console.log(`build bundle     ${buildMs.toFixed(0).padStart(7)} ms  ${rate(objects, buildMs)}`);
      console.log(`validate bundle  ${validateMs.toFixed(0).padStart(7)} ms  ${rate(objects, validateMs)}`);
      console.log(`publish (SQLite) ${publishMs.toFixed(0).padStart(7)} ms  ${rate(objects, publishMs)}`);
      console.log(`TAXII pull       ${pullMs.toFixed(0).padStart(7)} ms  ${rate(first.objects, pullMs)}  (${first.pages} pages, ${first.added} merged, ${first.invalid} invalid)`);
      console.log(`direct merge     ${directMs.toFixed(0).padStart(7)} ms  ${rate(objects, directMs)}  (same objects, no HTTP/validation)`);
      console.log(`pull ratio       ${(pullMs / directMs).toFixed(2)}x the direct merge`);
      console.log(`pull, unchanged  ${againMs.toFixed(0).padStart(7)} ms  (${again.objects} objects)`);
      console.log(`pull, all changed ${changedMs.toFixed(0).padStart(6)} ms  ${rate(changed.objects, changedMs)}  (${changed.updated} newer versions)`);
      console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
    } finally {
      await server.close();
    }
  } finally {
    await a.close();
    await b.close();
    await direct.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();

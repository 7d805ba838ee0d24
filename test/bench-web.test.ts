/**
 * bench/web.ts at a small size (--findings 20000): it fills the store, times every page and
 * prints each one with a 200 status. No timing assertion: the 1 M run and its 300 ms limit are
 * the bench's own job.
 */
import { describe, expect, it, vi } from 'vitest';
import { runWebBench } from '../bench/web.js';
import { chartNames, charts } from '../src/web/stats/data.js';

describe('bench/web', () => {
  it('fills 20,000 findings and prints every page it times', async () => {
    const lines: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      const pg = process.env.IOTCLEAN_TEST_POSTGRES;
      const r = await runWebBench({ findings: 20_000, runs: 2, seed: 'bench-web-test', ...(pg ? { pg } : {}) });
      const backends = pg ? ['sqlite', 'postgres'] : ['sqlite'];
      expect(Object.keys(r.fillSeconds)).toEqual(backends);
      const pages = ['findings, unfiltered', 'findings, kind', 'findings, ISP', 'findings, vendor', 'findings, deep keyset page', 'device page', '/ops/stats', 'public /stats', ...chartNames.map((n) => `chart ${n}`), ...chartNames.filter((n) => charts[n]!.public).map((n) => `public chart ${n}`)];
      for (const backend of backends) {
        for (const page of pages) {
          const t = r.timings.find((x) => x.backend === backend && x.page === page);
          expect(t, `${backend} ${page}`).toBeDefined();
          expect(t!.status, `${backend} ${page}`).toBe(200);
          expect(Number.isFinite(t!.medianMs)).toBe(true);
          expect(lines.some((l) => l.startsWith(backend) && l.includes(page))).toBe(true);
        }
      }
      expect(lines.some((l) => l.includes('server-side time per page with 20,000 findings'))).toBe(true);
    } finally {
      log.mockRestore();
      write.mockRestore();
    }
  }, 300_000);
});

/**
 * bench/notify-match.ts at a small size: it runs, every answer agrees with its generator's truth,
 * and the counts add up (the 10 M / 1 M run and its 60 s target are the bench's own job; tests
 * never assert on wall-clock speed).
 */
import { describe, expect, it } from 'vitest';
import { runMatchBench } from '../bench/notify-match.js';

describe('bench/notify-match', () => {
  it('matches 20 000 findings against 200 000 sessions with no wrong answer', () => {
    const r = runMatchBench({ sessions: 200_000, findings: 20_000, seed: 'bench-test' });
    expect(r.wrong).toBe(0);
    expect(r.matched + r.unmatched + r.ambiguous).toBe(20_000);
    // About 5% of findings are at times no session covers.
    expect(r.unmatched).toBeGreaterThan(500);
    expect(r.unmatched).toBeLessThan(1500);
    expect(r.sessions).toBeGreaterThan(190_000);
  }, 120_000);
});

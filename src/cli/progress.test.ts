import { describe, expect, it } from 'vitest';
import { progressBar } from './progress.js';

describe('progressBar', () => {
  it('continues a resumed survey from its checkpoint instead of restarting at 0', () => {
    const lines: string[] = [];
    let t = 0;
    const bar = progressBar('discover', { enabled: true, doneBefore: 600, write: (s) => lines.push(s), now: () => t });
    t = 1000;
    bar.update(100, 400); // this run: 100 of its remaining 400; the survey: 700 of 1000
    expect(lines.at(-1)).toContain('70.0%');
    expect(lines.at(-1)).toContain(' 100/s '); // the rate is this run's own
    bar.end();
    expect(lines.at(-1)).toBe('\n');
  });

  it('writes nothing when disabled (not a terminal)', () => {
    const lines: string[] = [];
    const bar = progressBar('x', { enabled: false, write: (s) => lines.push(s) });
    bar.update(1, 2);
    bar.end();
    expect(lines).toEqual([]);
  });
});

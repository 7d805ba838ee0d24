/** A one-line progress bar with rate and ETA on a terminal; silent when stderr is not a TTY. */

export interface ProgressBar {
  /** done and total of this run; the bar adds what earlier runs did (`doneBefore`). */
  update(done: number, total: number, extra?: string): void;
  end(): void;
}

export interface ProgressOptions {
  readonly enabled?: boolean;
  /** Work finished before this run (a resumed survey's checkpoint): the bar continues from there. */
  readonly doneBefore?: number;
  readonly write?: (text: string) => void;
  readonly now?: () => number;
}

function clock(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}

export function progressBar(label: string, options: ProgressOptions = {}): ProgressBar {
  const { enabled = process.stderr.isTTY === true, doneBefore = 0, write = (t: string) => void process.stderr.write(t), now = () => performance.now() } = options;
  const t0 = now();
  let last = -Infinity;
  let drawn = false;
  return {
    update(done, total, extra = '') {
      if (!enabled) return;
      const t = now();
      if (t - last < 100 && done < total) return;
      last = t;
      const secs = (t - t0) / 1000;
      // The rate is this run's; the fraction and ETA cover the whole survey.
      const rate = secs > 0 ? done / secs : 0;
      const all = doneBefore + total;
      const frac = all > 0 ? Math.min(1, (doneBefore + done) / all) : 1;
      const width = 24;
      const fill = Math.round(frac * width);
      const eta = rate > 0 ? (total - done) / rate : Infinity;
      const line = `${label} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${(frac * 100).toFixed(1)}% ${Math.round(rate).toLocaleString('en')}/s ETA ${clock(eta)}${extra ? ` ${extra}` : ''}`;
      write(`\r${line}\x1b[K`);
      drawn = true;
    },
    end() {
      if (drawn) write('\n');
      drawn = false;
    },
  };
}

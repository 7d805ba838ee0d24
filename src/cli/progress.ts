/** A one-line progress bar with rate and ETA on a terminal; silent when stderr is not a TTY. */

export interface ProgressBar {
  update(done: number, total: number, extra?: string): void;
  end(): void;
}

function clock(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}

export function progressBar(label: string, enabled = process.stderr.isTTY === true): ProgressBar {
  const t0 = performance.now();
  let last = 0;
  let drawn = false;
  return {
    update(done, total, extra = '') {
      if (!enabled) return;
      const now = performance.now();
      if (now - last < 100 && done < total) return;
      last = now;
      const secs = (now - t0) / 1000;
      const rate = secs > 0 ? done / secs : 0;
      const frac = total > 0 ? Math.min(1, done / total) : 1;
      const width = 24;
      const fill = Math.round(frac * width);
      const eta = rate > 0 ? (total - done) / rate : Infinity;
      const line = `${label} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${(frac * 100).toFixed(1)}% ${Math.round(rate).toLocaleString('en')}/s ETA ${clock(eta)}${extra ? ` ${extra}` : ''}`;
      process.stderr.write(`\r${line}\x1b[K`);
      drawn = true;
    },
    end() {
      if (drawn) process.stderr.write('\n');
      drawn = false;
    },
  };
}

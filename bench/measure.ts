/**
 * Run one benchmarked command and measure it the same way for every tool: wall time from spawn to
 * exit and peak RSS (the kernel's ru_maxrss of the waited-for child, so threads and all). Node
 * cannot read a child's rusage, so a few lines of python3 (already a CI dependency) wait for the
 * child; without python3 the figures fall back to wall time from here and no RSS.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Measured {
  /** Exit code; null when killed (time limit). */
  readonly code: number | null;
  readonly seconds: number;
  readonly peakRssMb?: number;
  readonly stdout: string;
  readonly timedOut: boolean;
}

/** Waits for the command with a time limit (the child is killed at it) and writes the figures. */
const waiter = `
import json, resource, subprocess, sys, time
out, limit, argv = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
t0 = time.monotonic()
try:
    code, timed_out = subprocess.run(argv, timeout=limit).returncode, False
except subprocess.TimeoutExpired:
    code, timed_out = None, True
seconds = time.monotonic() - t0
kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
json.dump({"code": code, "seconds": seconds, "maxRssKb": kb, "timedOut": timed_out}, open(out, "w"))
`;

let python: boolean | undefined;
function havePython(): boolean {
  python ??= spawnSync('python3', ['-c', 'pass']).status === 0;
  return python;
}

/** Run argv (stdout captured, stderr passed through) for at most `limitSeconds`. */
export function measure(argv: readonly string[], limitSeconds: number): Promise<Measured> {
  const dir = mkdtempSync(join(tmpdir(), 'iotclean-measure-'));
  const figures = join(dir, 'figures.json');
  const wrapped = havePython() ? ['python3', '-c', waiter, figures, String(limitSeconds), ...argv] : [...argv];
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(wrapped[0]!, wrapped.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
    // Without the waiter, the limit is enforced from here (a margin lets the waiter act first).
    const guard = setTimeout(() => child.kill('SIGKILL'), (limitSeconds + 30) * 1000);
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.on('error', (e) => {
      clearTimeout(guard);
      rmSync(dir, { recursive: true, force: true });
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      const wall = (performance.now() - t0) / 1000;
      try {
        if (!havePython()) return resolve({ code, seconds: wall, stdout, timedOut: signal === 'SIGKILL' });
        const f = JSON.parse(readFileSync(figures, 'utf8')) as { code: number | null; seconds: number; maxRssKb: number; timedOut: boolean };
        resolve({ code: f.code, seconds: f.seconds, peakRssMb: Math.round(f.maxRssKb / 1024), stdout, timedOut: f.timedOut });
      } catch {
        resolve({ code: code ?? null, seconds: wall, stdout, timedOut: signal !== null });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}

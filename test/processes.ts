/**
 * Processes started by the test suite, found again through a marker in their environment.
 *
 * Every process the suite starts inherits IOTCLEAN_TEST_RUN from the test worker (test/setup.ts sets
 * it per file and per test), and so does everything those processes start: the CLI, the lab's
 * detached shard processes, `ip netns exec` children. Linux keeps a process's initial environment in
 * /proc/<pid>/environ, so a process can be found by its marker even when it was detached, reparented
 * or never known to the test as a ChildProcess. The marker is a path, `<run>/<file>/<test>`, so one
 * prefix finds a test's processes, a file's, or the whole run's.
 *
 * Without /proc (not Linux) nothing is found; the tests that start processes then rely on their
 * own teardown.
 */
import { readdirSync, readFileSync } from 'node:fs';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Id of this vitest run, the root of every marker (given by test/global-setup.ts). */
    iotcleanTestRun: string;
  }
}

/** Environment variable holding the marker. */
export const markerVar = 'IOTCLEAN_TEST_RUN';

/** A running process that carries a marker. */
export interface MarkedProcess {
  readonly pid: number;
  readonly ppid: number;
  readonly marker: string;
  /** Its command line, shortened, for messages. */
  readonly command: string;
}

function readProc(pid: string, file: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'latin1');
  } catch {
    return undefined; // gone meanwhile, or not ours to read
  }
}

/**
 * Running processes whose marker is `prefix` or lies under it (`prefix/...`). Zombies have an empty
 * environment in /proc, so a process that has exited but is not reaped yet is not listed.
 */
export function findMarked(prefix: string, keep: (p: MarkedProcess) => boolean = () => false): MarkedProcess[] {
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return [];
  }
  const key = `${markerVar}=`;
  const found: MarkedProcess[] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    const env = readProc(name, 'environ');
    if (env === undefined || !env.includes(key)) continue;
    const entry = env.split('\0').find((e) => e.startsWith(key));
    const marker = entry?.slice(key.length) ?? '';
    if (marker !== prefix && !marker.startsWith(`${prefix}/`)) continue;
    const cmdline = readProc(name, 'cmdline') ?? '';
    const command = cmdline.split('\0').filter(Boolean).join(' ');
    // stat is "pid (comm) state ppid ..."; comm may hold spaces and parentheses.
    const stat = readProc(name, 'stat') ?? '';
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1] ?? -1);
    const p = { pid: Number(name), ppid, marker, command: command.length > 160 ? `${command.slice(0, 157)}...` : command };
    if (!keep(p)) found.push(p);
  }
  return found;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Give the processes under `prefix` up to `graceMs` to end by themselves (a test may have signalled
 * a child without waiting for it), then SIGKILL whatever is left (except what `keep` spares), repeating while killed processes'
 * children appear (bounded). Returns the processes that were still running after the grace period.
 */
export async function reapMarked(prefix: string, graceMs = 0, keep?: (p: MarkedProcess) => boolean): Promise<MarkedProcess[]> {
  for (const end = Date.now() + graceMs; findMarked(prefix, keep).length > 0 && Date.now() < end; ) await sleep(50);
  const left = new Map<number, MarkedProcess>();
  for (let round = 0; round < 20; round++) {
    const now = findMarked(prefix, keep);
    if (now.length === 0) break;
    for (const p of now) {
      if (!left.has(p.pid)) left.set(p.pid, p);
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await sleep(50);
  }
  return [...left.values()];
}

/** "pid 123 (node serve.ts), pid 124 (...)" for error messages. */
export function describeProcesses(list: readonly MarkedProcess[]): string {
  return list.map((p) => `pid ${p.pid} (${p.command || '?'})`).join(', ');
}

/**
 * The esbuild transform service this process started (tsx, and the discovery engine bundling its
 * worker from source, start one and reuse it): it belongs to this process, later tests need it, and
 * it exits when this process does (its stdin closes), so it is no leak of a test.
 */
export function isOwnEsbuildService(p: MarkedProcess): boolean {
  return p.ppid === process.pid && /esbuild\S* --service=/.test(p.command);
}

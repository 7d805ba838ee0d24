/**
 * Running a benchmark again inside a network namespace of its own (root only), so its lab, the
 * reference tools and iotclean share a private loopback and nothing else sees the traffic.
 */
import { execFileSync, spawnSync } from 'node:child_process';

/**
 * Run this script again as `<argv> ...extraArgs --inner` inside the fresh namespace `ns` (lo up),
 * and delete the namespace afterwards, killing whatever is still in it: everything there was
 * started by this run, and an inner run that died before `lab down` would leave lab shards behind.
 * Returns the inner run's exit status.
 */
export function rerunInNamespace(ns: string, extraArgs: readonly string[] = []): number {
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    execFileSync('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up']);
    const argv = [...process.execArgv, process.argv[1]!, ...process.argv.slice(2), ...extraArgs, '--inner'];
    return spawnSync('ip', ['netns', 'exec', ns, process.execPath, ...argv], { stdio: 'inherit' }).status ?? 1;
  } finally {
    const pids = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout ?? '';
    for (const pid of pids.split(/\s+/).filter((p) => /^\d+$/.test(p))) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    execFileSync('ip', ['netns', 'del', ns]);
  }
}

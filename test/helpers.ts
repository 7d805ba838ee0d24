/** Test helpers: loopback listeners with a known truth, and running the CLI as a child process. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import * as net from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRng } from '../src/core/rng.js';

export const repoRoot = fileURLToPath(new URL('..', import.meta.url));

export interface Listeners {
  readonly truth: ReadonlySet<string>;
  close(): Promise<void>;
}

/** Listen on `count` seeded (address, port) pairs inside base/20; returns "ip:port" truth. */
export async function listenSpread(base: string, ports: readonly number[], count: number, seed = 1): Promise<Listeners> {
  const [a, b, c] = base.split('.').map(Number) as [number, number, number];
  const rnd = createRng(seed).next;
  const truth = new Set<string>();
  const servers: net.Server[] = [];
  while (truth.size < count) {
    const ip = `${a}.${b}.${c + Math.floor(rnd() * 16)}.${1 + Math.floor(rnd() * 254)}`;
    const port = ports[Math.floor(rnd() * ports.length)]!;
    const key = `${ip}:${port}`;
    if (truth.has(key)) continue;
    truth.add(key);
    const server = net.createServer((sock) => sock.on('error', () => {}).destroy());
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, ip, resolve));
    servers.push(server);
  }
  return { truth, close: async () => void (await Promise.all(servers.map((x) => new Promise((r) => x.close(r))))) };
}

/** Newest modification time of any file under `dir` that the build reads (tests are not built), in ms. */
function newestMtime(dir: string): number {
  let newest = 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestMtime(path));
    else if (!e.name.endsWith('.test.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

function builtIsFresh(): boolean {
  try {
    return statSync(join(repoRoot, 'dist/src/cli/main.js')).mtimeMs >= newestMtime(join(repoRoot, 'src'));
  } catch {
    return false;
  }
}

/**
 * The command line that starts the CLI (relative to repoRoot): the built copy through bin/iotclean.js,
 * as an installed iotclean starts, when dist/ is newer than every source file (`npm test` builds first);
 * otherwise the source through tsx, so a focused run after an edit tests the edit. tsx costs ~1 s more
 * per start, and the suite starts the CLI some 300 times. IOTCLEAN_TEST_CLI=source forces the source.
 */
export const cliArgv: readonly string[] =
  process.env.IOTCLEAN_TEST_CLI !== 'source' && builtIsFresh() ? [process.execPath, join(repoRoot, 'bin/iotclean.js')] : [process.execPath, '--import', 'tsx', join(repoRoot, 'src/cli/main.ts')];

/** Start the CLI as a user would run it (see cliArgv). */
export function startCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(cliArgv[0]!, [...cliArgv.slice(1), ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Run the CLI to completion; resolves with exit code and output. */
export function runCli(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = startCli(args);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

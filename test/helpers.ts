/** Test helpers: loopback listeners with a known truth, and running the CLI as a child process. */
import { spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';
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

/** Start the CLI from source (tsx), as a user would run it. */
export function startCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
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

/**
 * A worker thread's entry file. Built code (dist/) uses the compiled `<name>.js` beside the calling
 * module. Run from the TypeScript sources (vitest, tsx), `<name>.ts` is bundled by esbuild (a dev
 * dependency) once per process: Node 20 cannot load TypeScript in a worker by itself, and
 * registering tsx inside each worker cost ~0.4 s of CPU per start.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bundles = new Map<string, Promise<string>>();

/** The entry of worker `name` (a module beside `moduleUrl`, the caller's import.meta.url). */
export function workerEntry(moduleUrl: string, name: string): Promise<string | URL> {
  if (!moduleUrl.endsWith('.ts')) return Promise.resolve(new URL(`./${name}.js`, moduleUrl));
  const source = fileURLToPath(new URL(`./${name}.ts`, moduleUrl));
  let bundle = bundles.get(source);
  if (!bundle) {
    bundle = bundleOnce(source);
    bundles.set(source, bundle);
  }
  return bundle;
}

async function bundleOnce(source: string): Promise<string> {
  const esbuild = await import('esbuild');
  const built = await esbuild.build({ entryPoints: [source], bundle: true, platform: 'node', format: 'esm', write: false, logLevel: 'error' });
  const code = built.outputFiles[0]!.contents;
  // Named by content and shared by every process: a SIGKILLed test runner leaves nothing behind.
  const out = join(tmpdir(), `iotclean-worker-${createHash('sha256').update(code).digest('hex').slice(0, 16)}.mjs`);
  // Reused only if it holds exactly this code (in a shared /tmp another user could have put it there).
  if (existsSync(out) && Buffer.from(code).equals(readFileSync(out))) return out;
  const part = `${out}.${process.pid}`;
  writeFileSync(part, code, { mode: 0o600 });
  renameSync(part, out); // atomic: a concurrent process never loads a half-written file
  return out;
}

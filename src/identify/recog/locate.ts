/**
 * Where a copy of Recog's xml/ directory is. The product loads Recog from a directory the operator
 * names; tests, benchmarks and the demo look in the usual places (the data is never committed).
 */
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file is src/identify/recog/locate.ts, or dist/src/identify/recog/locate.js). */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    dir = dirname(dir);
  }
  return resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
}

function hasRecogFiles(dir: string): boolean {
  try {
    return readdirSync(dir).some((f) => f.endsWith('.xml'));
  } catch {
    return false;
  }
}

/**
 * The first of `$IOTCLEAN_RECOG_DIR`, `<repo>/../shared/data/recog`, `/work/shared/data/recog`
 * that holds Recog *.xml files, else undefined (callers skip, saying so).
 */
export function findRecogDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const candidates = [env.IOTCLEAN_RECOG_DIR, join(repoRoot(), '..', 'shared', 'data', 'recog'), '/work/shared/data/recog'];
  for (const c of candidates) {
    if (c && hasRecogFiles(c)) return resolve(c);
  }
  return undefined;
}

/** The message tests and benchmarks print when no copy is found. */
export const recogMissingMessage =
  'Recog fingerprints not found: set IOTCLEAN_RECOG_DIR to a copy of rapid7/recog xml/ (or place it at ../shared/data/recog)';

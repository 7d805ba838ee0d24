import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { copyPortable } from './portable-copy.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('copyPortable', () => {
  it('copies a module and the relative modules it loads as world-readable ESM', () => {
    dir = mkdtempSync(join(tmpdir(), 'iotclean-copy-'));
    const entry = copyPortable(fileURLToPath(new URL('./port-map.ts', import.meta.url)), root, join(dir, 'c'));
    expect(entry).toBe(join(dir, 'c', 'src', 'lab', 'port-map.js'));
    for (const f of ['src/lab/port-map.js', 'src/lab/bind.js', 'src/core/errors.js', 'src/core/ip.js', 'package.json']) {
      expect(existsSync(join(dir, 'c', f)), f).toBe(true);
      expect(statSync(join(dir, 'c', f)).mode & 0o777).toBe(0o644);
    }
    expect(statSync(join(dir, 'c', 'src')).mode & 0o777).toBe(0o755);
    expect(readFileSync(entry, 'utf8')).not.toMatch(/: Promise<PortMap>/); // types are gone
  });

  it('refuses a module that loads an npm package, since the copy has no node_modules', () => {
    const out = (dir = mkdtempSync(join(tmpdir(), 'iotclean-copy-')));
    expect(() => copyPortable(fileURLToPath(new URL('./profiles.ts', import.meta.url)), root, join(out, 'c'))).toThrow(/loads the package zod/);
  });
});

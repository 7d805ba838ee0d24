import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { IotcleanError } from './errors.js';
import { readInputFile, statInputFile, type FileKind } from './files.js';

const dir = mkdtempSync(join(tmpdir(), 'iotclean-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const kind: FileKind = { code: 'E_SCOPE_FILE', name: 'scope file', hint: 'give a readable file' };

async function failure(p: Promise<unknown>): Promise<IotcleanError> {
  const e = await p.then(() => undefined, (x: unknown) => x);
  expect(e).toBeInstanceOf(IotcleanError);
  return e as IotcleanError;
}

describe('input files', () => {
  it('reads a text file', async () => {
    const path = join(dir, 'ok.txt');
    writeFileSync(path, 'include 127.0.0.0/8\n');
    expect(await readInputFile(path, kind)).toBe('include 127.0.0.0/8\n');
    expect((await statInputFile(path, kind)).size).toBe(20);
  });

  it('a missing file: the caller\'s code, the path, a plain reason and the hint', async () => {
    const path = join(dir, 'missing.txt');
    for (const e of [await failure(readInputFile(path, kind)), await failure(statInputFile(path, kind))]) {
      expect(e.code).toBe('E_SCOPE_FILE');
      expect(e.where).toMatchObject({ file: path, hint: 'give a readable file' });
      expect(e.message).toBe('cannot read scope file: no such file (ENOENT)');
    }
  });

  it('a folder is not an input file', async () => {
    expect((await failure(readInputFile(dir, kind))).message).toContain('it is a folder (EISDIR)');
    expect((await failure(statInputFile(dir, kind))).message).toContain('it is a folder (EISDIR)');
  });
});

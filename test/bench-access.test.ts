/**
 * bench/access without processes: the credential list files (the right pair at K of N, in each
 * tool's format, no decoy that a server would accept), reading hydra's, ncrack's, medusa's and
 * iotclean's real output shapes, the scoring, and a seeded fuzz of every output reader.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { adapters, parseIotclean, score } from '../bench/access.js';
import { writeCredentialList, type AccessServer } from './access-servers.js';
import { createRng } from '../src/core/rng.js';
import { parseDictionary } from '../src/access/dictionary/index.js';

const dir = mkdtempSync(join(tmpdir(), 'iotclean-bench-access-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const lines = (file: string) => readFileSync(file, 'utf8').trimEnd().split('\n');
const parse = (tool: string, out: string) => adapters.find((a) => a.name === tool)!.parse(out);

describe('writeCredentialList', () => {
  const right = { username: 'root', password: 'admin' };
  const exclude = [{ username: 'support', password: 'support123' }, { username: 'admin', password: 'admin1234' }];
  const l = writeCredentialList(dir, { right, position: 95, total: 100, exclude, name: 'hundred' });

  it('puts the right pair at position K of N, once, in every format', () => {
    expect(l.pairs).toHaveLength(100);
    expect(l.pairs[94]).toEqual(right);
    expect(l.pairs.filter((p) => p.username === 'root' && p.password === 'admin')).toHaveLength(1);
    expect(lines(l.combo)[94]).toBe('root:admin');
    expect(lines(l.medusaCombo)[94]).toBe(':root:admin');
    expect(lines(l.users)[94]).toBe('root');
    expect(lines(l.passwords)[94]).toBe('admin');
    // iotclean's copy is a dictionary file its own loader accepts.
    const entries = parseDictionary(readFileSync(l.entries, 'utf8'), l.entries).entries;
    expect(entries).toHaveLength(100);
    expect(entries[94]).toMatchObject({ id: 'bench-95', ...right });
    for (const f of [l.combo, l.medusaCombo, l.users, l.passwords]) expect(lines(f)).toHaveLength(100);
  });

  it('has distinct decoys and none any server accepts (nor the right password under another name)', () => {
    const keys = l.pairs.map((p) => `${p.username}:${p.password}`);
    expect(new Set(keys).size).toBe(100);
    const decoys = l.pairs.filter((_, i) => i !== 94);
    for (const p of decoys) {
      expect(p.password).not.toBe('admin');
      for (const x of exclude) expect(p.password).not.toBe(x.password);
    }
    // Decoys try the right user name too, as a real list does (failures are wrong passwords).
    expect(decoys.some((p) => p.username === 'root')).toBe(true);
  });

  it('refuses a position outside the list and pairs that no list file can hold', () => {
    expect(() => writeCredentialList(dir, { right, position: 11, total: 10 })).toThrow(/position/);
    expect(() => writeCredentialList(dir, { right: { username: 'a:b', password: 'x' }, position: 1, total: 1 })).toThrow(/cannot be written/);
    expect(() => writeCredentialList(dir, { right: { username: 'a', password: 'x\ny' }, position: 1, total: 1 })).toThrow(/cannot be written/);
  });
});

// Output shapes as the Debian packages print them (hydra 9.4, ncrack 0.7, medusa 2.2), captured here.
const hydraOut = `Hydra v9.4 (c) 2022 by van Hauser/THC & David Maciejak
[DATA] attacking telnet://127.74.0.1:23/
[WARNING] telnet is by its nature unreliable to analyze, if possible better choose FTP, SSH, etc. if available
[23][telnet] host: 127.74.0.1   login: root   password: xc3511
[STATUS] attack finished for 127.74.0.1 (valid pair found)
1 of 1 target successfully completed, 1 valid password found
`;
const ncrackOut = `Starting Ncrack 0.7 ( http://ncrack.org ) at 2026-12-01 19:20 UTC

Discovered credentials for http on 127.74.0.3 80/tcp:
127.74.0.3 80/tcp http: 'admin' 'admin1234'

Ncrack done: 1 service scanned in 3.00 seconds.
`;
const medusaOut = `ACCOUNT CHECK: [http] Host: 127.74.0.4 (1 of 1, 0 complete) User: admin (1 of 6, 0 complete) Password: 1234 (1 of 5 complete)
ACCOUNT FOUND: [http] Host: 127.74.0.4 User: admin Password: 1234 [ERROR (Unexpected return code: 400 Bad Request)]
ACCOUNT FOUND: [telnet] Host: 127.74.0.1 User: root Password: admin [SUCCESS]
`;

describe('reading the tools’ output', () => {
  it('hydra: every "host: … login: … password: …" line', () => {
    expect(parse('hydra', hydraOut)).toEqual([{ username: 'root', password: 'xc3511' }]);
    expect(parse('hydra', '1 of 1 target completed, 0 valid password found\n')).toEqual([]);
  });
  it('ncrack: the credential lines under "Discovered credentials"', () => {
    expect(parse('ncrack', ncrackOut)).toEqual([{ username: 'admin', password: 'admin1234' }]);
  });
  it('medusa: only ACCOUNT FOUND lines marked [SUCCESS] (its [ERROR] lines are not claims)', () => {
    expect(parse('medusa', medusaOut)).toEqual([{ username: 'root', password: 'admin' }]);
  });
  it('iotclean: weak-credential rows of this service, entry ids mapped back to the list', () => {
    const l = writeCredentialList(dir, { right: { username: 'root', password: 'admin' }, position: 3, total: 5, name: 'five' });
    const s = { name: 'telnet', ip: '127.74.0.1', port: 23 } as AccessServer;
    const out = [
      '{"ip":"127.74.0.1","port":23,"protocol":"telnet","verdict":"weak-credential","entry":"bench-3","username":"root"}',
      '{"ip":"127.74.0.9","port":23,"protocol":"telnet","verdict":"weak-credential","entry":"bench-1","username":"root"}',
      '{"ip":"127.74.0.1","port":23,"protocol":"telnet","verdict":"accepts-any","entry":null,"username":null}',
      'not json {',
    ].join('\n');
    expect(parseIotclean(out, s, l)).toEqual([{ username: 'root', password: 'admin' }]);
    expect(score(parseIotclean(out, s, l), l)).toEqual({ foundRight: true, falsePositives: [], attempts: 3 });
  });
});

describe('score', () => {
  const l = writeCredentialList(dir, { right: { username: 'root', password: 'admin' }, position: 9, total: 10, name: 'ten' });
  it('counts K attempts when the right pair is reported, N otherwise, and every other pair as a false positive', () => {
    expect(score([{ username: 'root', password: 'admin' }], l)).toEqual({ foundRight: true, falsePositives: [], attempts: 9 });
    expect(score([{ username: 'root', password: 'xc3511' }], l)).toEqual({ foundRight: false, falsePositives: [{ username: 'root', password: 'xc3511' }], attempts: 10 });
    expect(score([], l)).toEqual({ foundRight: false, falsePositives: [], attempts: 10 });
  });
});

describe('fuzz: output readers never throw on garbage', () => {
  it('returns pair lists for 2,000 seeded random outputs', () => {
    const rng = createRng('bench-access-fuzz');
    const pieces = [hydraOut, ncrackOut, medusaOut, '\0', '\r\n', "'", ':', '[SUCCESS]', 'login: ', 'password: ', '{"ip":', '}', '\u00ff\u00fb\u0001'];
    const l = writeCredentialList(dir, { right: { username: 'u', password: 'p' }, position: 1, total: 2, name: 'fuzz' });
    const s = { name: 'telnet', ip: '127.74.0.1', port: 23 } as AccessServer;
    for (let i = 0; i < 2000; i++) {
      let text = '';
      for (let n = rng.int(12); n > 0; n--) {
        const piece = rng.pick(pieces);
        const cut = rng.int(piece.length + 1);
        text += rng.next() < 0.5 ? piece.slice(0, cut) : String.fromCharCode(...Array.from({ length: rng.int(40) }, () => rng.int(256)));
      }
      for (const a of adapters) expect(Array.isArray(a.parse(text))).toBe(true);
      expect(Array.isArray(parseIotclean(text, s, l))).toBe(true);
    }
  });
});

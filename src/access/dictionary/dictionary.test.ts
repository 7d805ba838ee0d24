import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { IotcleanError } from '../../core/errors.js';
import { createRng } from '../../core/rng.js';
import { dictionaryRef, loadDictionary, parseDictionary } from './dictionary.js';

const head = `version: "t-1"\nname: test\nsources:\n  pub: { title: "a public list", url: "https://example.org/list" }\nentries:\n`;
const parse = (entries: string, top = head): ReturnType<typeof parseDictionary> => parseDictionary(top + entries, 'test.yaml');

/** The IotcleanError a parse throws (fails the test when it does not throw one). */
function errorOf(text: string): IotcleanError {
  try {
    parseDictionary(text, 'bad.yaml');
  } catch (e) {
    if (e instanceof IotcleanError) return e;
    throw e;
  }
  throw new Error('parse did not fail');
}

describe('parseDictionary', () => {
  it('reads entries with defaults for the optional lists, and allows empty passwords', () => {
    const d = parse(`  - { id: acme-001, username: root, password: "", sources: [pub] }\n  - { id: acme-002, username: admin, password: "1234", sources: [pub], vendors: [Acme], models: ["X-*"], types: [router], protocols: [telnet] }\n`);
    expect(d.version).toBe('t-1');
    expect(d.name).toBe('test');
    expect(d.entries.map((e) => [e.id, e.username, e.password])).toEqual([
      ['acme-001', 'root', ''],
      ['acme-002', 'admin', '1234'],
    ]);
    expect(d.entries[0]).toMatchObject({ vendors: [], models: [], types: [], protocols: [] });
    expect(d.entries[1]).toMatchObject({ vendors: ['Acme'], models: ['X-*'], types: ['router'], protocols: ['telnet'] });
    expect(d.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(dictionaryRef(d)).toEqual({ name: 'test', version: 't-1', digest: d.digest });
  });

  it('refuses a repeated pair with the file and the line of the second, naming the first', () => {
    const e = errorOf(`${head}  - { id: a-001, username: root, password: x, sources: [pub] }\n  - { id: a-002, username: admin, password: x, sources: [pub] }\n  - { id: a-003, username: root, password: x, sources: [pub] }\n`);
    expect(e.code).toBe('E_DICTIONARY_FILE');
    expect(e.where.file).toBe('bad.yaml');
    expect(e.where.line).toBe(8);
    expect(e.message).toContain('"a-001"');
    expect(e.message).toContain('line 6');
  });

  it('tells pairs apart exactly (case, and no separator collisions)', () => {
    const d = parse(`  - { id: a-001, username: "a:b", password: "c", sources: [pub] }\n  - { id: a-002, username: "a", password: "b:c", sources: [pub] }\n  - { id: a-003, username: ADMIN, password: "c", sources: [pub] }\n  - { id: a-004, username: admin, password: "c", sources: [pub] }\n`);
    expect(d.entries).toHaveLength(4);
  });

  it('refuses a repeated id', () => {
    const e = errorOf(`${head}  - { id: a-001, username: root, password: x, sources: [pub] }\n  - { id: a-001, username: admin, password: y, sources: [pub] }\n`);
    expect(e.message).toMatch(/id "a-001" is used twice/);
    expect(e.where.line).toBe(7);
  });

  it('refuses an id that spells its password', () => {
    const e = errorOf(`${head}  - { id: acme-secret-1, username: root, password: Secret, sources: [pub] }\n`);
    expect(e.message).toMatch(/contains its password/);
  });

  it.each([
    ['an unknown key in an entry', `  - { id: a-001, username: root, password: x, sources: [pub], pasword: y }\n`, /unknown key "pasword" in entries\[0\].*allowed: id, username/],
    ['a missing password', `  - { id: a-001, username: root, sources: [pub] }\n`, /entries\[0\]\.password/],
    ['a numeric password (YAML would drop leading zeros)', `  - { id: a-001, username: root, password: 0000, sources: [pub] }\n`, /password: must be text; quote it/],
    ['an empty username', `  - { id: a-001, username: "", password: x, sources: [pub] }\n`, /username: must not be empty/],
    ['a control character', `  - { id: a-001, username: root, password: "a\\nb", sources: [pub] }\n`, /control characters/],
    ['an id that is not kebab-case', `  - { id: "A 1", username: root, password: x, sources: [pub] }\n`, /id: must be kebab-case/],
    ['an unknown source', `  - { id: a-001, username: root, password: x, sources: [nowhere] }\n`, /unknown source "nowhere"/],
    ['no source', `  - { id: a-001, username: root, password: x, sources: [] }\n`, /must name at least one source/],
    ['an unknown device type', `  - { id: a-001, username: root, password: x, sources: [pub], types: [toaster] }\n`, /types\[0\]: must be a device type/],
    ['an unknown protocol', `  - { id: a-001, username: root, password: x, sources: [pub], protocols: [rdp] }\n`, /protocols\[0\]: must be one of telnet/],
    ['a vendor listed twice', `  - { id: a-001, username: root, password: x, sources: [pub], vendors: [Acme, Acme] }\n`, /lists vendor "Acme" twice/],
  ])('refuses %s', (_what, entries, pattern) => {
    const e = errorOf(head + entries);
    expect(e.code).toBe('E_DICTIONARY_FILE');
    expect(e.message).toMatch(pattern);
    expect(e.where.line).toBe(6);
  });

  it.each([
    ['an empty file', '', /empty/],
    ['a list at the top', '- a\n- b\n', /must be a mapping/],
    ['a YAML syntax error', 'version: "1\n', /YAML syntax/],
    ['a duplicate key', 'version: "1"\nversion: "2"\n', /YAML syntax/],
    ['no entries', `${head}`, /entries/],
    ['an unknown top-level key', `${head}  - { id: a-001, username: root, password: x, sources: [pub] }\nextra: 1\n`, /unknown key "extra".*allowed: version, name/],
    ['a source with neither url nor path', `version: "1"\nname: n\nsources:\n  pub: { title: t }\nentries: []\n`, /sources\.pub: needs a url/],
    ['a bad source URL', `version: "1"\nname: n\nsources:\n  pub: { title: t, url: "not a url" }\nentries: []\n`, /sources\.pub\.url/],
  ])('refuses %s', (_what, text, pattern) => {
    const e = errorOf(text);
    expect(e.code).toBe('E_DICTIONARY_FILE');
    expect(e.message).toMatch(pattern);
  });

  it('has a digest that follows content, not layout or comments', () => {
    const a = parse(`  - { id: a-001, username: root, password: x, sources: [pub] }\n`);
    const b = parseDictionary(`# a comment\nname: test\nversion: "t-1"\ndescription: other words\nsources:\n  pub:\n    url: "https://example.org/list"\n    title: "a public list"\nentries:\n  - id: a-001\n    password: x\n    username: root\n    sources: [pub]\n`, 'b.yaml');
    const c = parse(`  - { id: a-001, username: root, password: y, sources: [pub] }\n`);
    const d = parse(`  - { id: a-002, username: root, password: x, sources: [pub] }\n`);
    expect(b.digest).toBe(a.digest);
    expect(c.digest).not.toBe(a.digest);
    expect(d.digest).not.toBe(a.digest);
  });

  it('never throws anything but IotcleanError on mangled files (seeded fuzz)', () => {
    const base = `${head}  - { id: a-001, username: root, password: x, sources: [pub], vendors: [Acme] }\n  - { id: a-002, username: admin, password: "", sources: [pub] }\n`;
    const rng = createRng('dictionary-fuzz');
    const alphabet = ['\0', '\n', ' ', ':', '-', '{', '}', '[', ']', '"', "'", '&a', '*a', '!', '#', '|', '>', 'x', '1', '\u00ff', '\t'];
    let ok = 0;
    for (let i = 0; i < 400; i++) {
      const chars = [...base];
      for (let k = 0, n = 1 + rng.int(6); k < n; k++) {
        const at = rng.int(chars.length);
        if (rng.next() < 0.5) chars.splice(at, 1 + rng.int(3));
        else chars.splice(at, 0, rng.pick(alphabet));
      }
      try {
        parseDictionary(chars.join(''), 'fuzz.yaml');
        ok++;
      } catch (e) {
        expect(e).toBeInstanceOf(IotcleanError);
      }
    }
    // Some mutations land in comments-free places that stay valid; most must be refused.
    expect(ok).toBeLessThan(400);
  });
});

describe('loadDictionary', () => {
  const dir = mkdtempSync(join(tmpdir(), 'iotclean-dict-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('loads the built-in list without a path', async () => {
    const d = await loadDictionary();
    expect(d.name).toBe('default');
    expect(d.entries.length).toBeGreaterThan(0);
  });

  it('loads a file and names a missing one', async () => {
    const file = join(dir, 'mine.yaml');
    writeFileSync(file, `${head}  - { id: a-001, username: root, password: x, sources: [pub] }\n`);
    expect((await loadDictionary(file)).entries).toHaveLength(1);
    await expect(loadDictionary(join(dir, 'missing.yaml'))).rejects.toMatchObject({ code: 'E_DICTIONARY_FILE', message: expect.stringContaining('no such file') });
  });
});

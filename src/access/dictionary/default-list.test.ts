/**
 * The built-in list: Mirai's table checked against the original bot source, the lab devices'
 * weak pairs, the makers of the catalogue, and the size NOTICE works with.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCatalogue } from '../../identify/catalogue.js';
import { vendorKey } from '../../identify/names.js';
import { loadProfiles } from '../../lab/profiles.js';
import { loadDictionary, type Dictionary } from './dictionary.js';

let dict: Dictionary;
beforeAll(async () => {
  dict = await loadDictionary();
});

const pairKey = (u: string, p: string): string => JSON.stringify([u, p]);
const miraiEntries = (): Dictionary['entries'] => dict.entries.filter((e) => e.sources.includes('mirai'));

/** Facts about Mirai's table (counted from the decoded source; the pairs themselves are in default.yaml). */
const mirai = {
  entries: 62,
  distinct: 61,
  // sha256 of the distinct pairs, JSON-encoded [username, password], in the bot's order, joined by "\n".
  orderedDigest: 'c3bb0935a3a5396eeed1a99a4140c05c49251ecea5b9c6841d8ba0649fdd91dd',
};

/**
 * Mirai's table decoded from the leaked source: the add_auth_entry() calls of mirai/bot/scanner.c,
 * each string byte XORed with the four bytes of table_key from mirai/bot/table.c.
 */
function decodeMiraiTable(scannerC: string, tableC: string): { username: string; password: string; weight: number }[] {
  const key = /table_key\s*=\s*0x([0-9a-fA-F]{8})/.exec(tableC)?.[1];
  if (!key) throw new Error('table_key not found in table.c');
  const k = Number.parseInt(key, 16);
  const xor = (k & 0xff) ^ ((k >>> 8) & 0xff) ^ ((k >>> 16) & 0xff) ^ ((k >>> 24) & 0xff);
  const unescape = (s: string): number[] => {
    const out: number[] = [];
    for (let i = 0; i < s.length; ) {
      const hex = /^\\x([0-9a-fA-F]{2})/.exec(s.slice(i));
      if (hex?.[1]) {
        out.push(Number.parseInt(hex[1], 16));
        i += 4;
      } else {
        out.push(s.charCodeAt(i));
        i += 1;
      }
    }
    return out;
  };
  const decode = (s: string): string => String.fromCharCode(...unescape(s).map((b) => b ^ xor));
  const calls = [...scannerC.matchAll(/^\s*add_auth_entry\("((?:[^"\\]|\\.)*)",\s*"((?:[^"\\]|\\.)*)",\s*(\d+)\);/gm)];
  return calls.map((m) => ({ username: decode(m[1] ?? ''), password: decode(m[2] ?? ''), weight: Number(m[3]) }));
}

/** The Mirai source, from IOTCLEAN_MIRAI_SRC (a checkout of jgamblin/Mirai-Source-Code) or the local mirror. */
function miraiSource(): { scanner: string; table: string } | null {
  const dir = process.env['IOTCLEAN_MIRAI_SRC'];
  if (dir && existsSync(`${dir}/mirai/bot/scanner.c`)) {
    return { scanner: readFileSync(`${dir}/mirai/bot/scanner.c`, 'utf8'), table: readFileSync(`${dir}/mirai/bot/table.c`, 'utf8') };
  }
  const mirror = '/work/.mirror/jgamblin+Mirai-Source-Code/repo';
  if (!existsSync(mirror)) return null;
  try {
    const show = (p: string): string => execFileSync('git', ['-C', mirror, 'show', `HEAD:${p}`], { encoding: 'utf8' });
    return { scanner: show('mirai/bot/scanner.c'), table: show('mirai/bot/table.c') };
  } catch {
    return null;
  }
}

const sharedTable = '/work/shared/data/creds/mirai-scanner-table.tsv';
const source = miraiSource();

describe('the default dictionary', () => {
  it('holds about 600 entries, as NOTICE does, with a digest', () => {
    expect(dict.entries.length).toBeGreaterThanOrEqual(550);
    expect(dict.entries.length).toBeLessThanOrEqual(650);
    expect(new Set(dict.entries.map((e) => pairKey(e.username, e.password))).size).toBe(dict.entries.length);
    expect(dict.digest).toMatch(/^[0-9a-f]{64}$/);
  });

  it("holds Mirai's 61 distinct pairs as mirai-001..mirai-061, in the bot's order", () => {
    const m = miraiEntries();
    expect(m).toHaveLength(mirai.distinct);
    expect(m.map((e) => e.id)).toEqual(Array.from({ length: mirai.distinct }, (_, i) => `mirai-${String(i + 1).padStart(3, '0')}`));
    const ordered = m.map((e) => pairKey(e.username, e.password)).join('\n');
    expect(createHash('sha256').update(ordered).digest('hex')).toBe(mirai.orderedDigest);
    // A few facts any reader of scanner.c can check by eye.
    expect(m[0]).toMatchObject({ username: 'root', password: 'xc3511' });
    expect(m.filter((e) => e.password === '').map((e) => e.username).sort()).toEqual(['admin', 'root']);
    // The comment in scanner.c says "admin" here; the obfuscated string decodes to "meinsm".
    expect(m.find((e) => e.username === 'Administrator')?.password).toBe('meinsm');
    // Mirai's pairs come first in the file, so an unidentified device gets them first.
    expect(dict.entries.slice(0, mirai.distinct).every((e) => e.sources.includes('mirai'))).toBe(true);
  });

  it.skipIf(source === null)("matches Mirai's table decoded here from the original scanner.c and table.c", () => {
    const decoded = decodeMiraiTable(source!.scanner, source!.table);
    expect(decoded).toHaveLength(mirai.entries);
    const distinct = [...new Set(decoded.map((d) => pairKey(d.username, d.password)))];
    expect(distinct).toHaveLength(mirai.distinct);
    expect(decoded.filter((d) => d.username === 'guest' && d.password === '12345')).toHaveLength(2);
    expect(createHash('sha256').update(distinct.join('\n')).digest('hex')).toBe(mirai.orderedDigest);
    expect(miraiEntries().map((e) => pairKey(e.username, e.password))).toEqual(distinct);
  });

  it.skipIf(!existsSync(sharedTable))('matches the shared decoded copy of the table', () => {
    const rows = readFileSync(sharedTable, 'utf8').trim().split('\n').slice(1).map((l) => l.split('\t'));
    expect(rows).toHaveLength(mirai.entries);
    const distinct = [...new Set(rows.map((r) => pairKey(r[0] ?? '', r[1] ?? '')))];
    expect(miraiEntries().map((e) => pairKey(e.username, e.password))).toEqual(distinct);
  });

  it("holds every lab device's weak pair (they are modelled on real defaults)", () => {
    const pairs = new Set(dict.entries.map((e) => pairKey(e.username, e.password)));
    const missing: string[] = [];
    let checked = 0;
    for (const p of loadProfiles()) {
      for (const c of p.weakCredentials) {
        checked++;
        if (!pairs.has(pairKey(c.username, c.password))) missing.push(`${p.id}: ${c.username}/${c.password}`);
      }
    }
    expect(checked).toBeGreaterThan(20);
    expect(missing).toEqual([]);
  });

  it('knows pairs for every maker in the identify catalogue and the Japanese makers', () => {
    const known = new Set(dict.entries.flatMap((e) => e.vendors.map(vendorKey)));
    const makers = [...new Set(loadCatalogue().entries.map((e) => e.vendor))];
    expect(makers.length).toBeGreaterThan(10);
    expect(makers.filter((m) => !known.has(vendorKey(m)))).toEqual([]);
    for (const m of ['NEC', 'Buffalo', 'I-O DATA', 'Yamaha', 'Panasonic', 'ELECOM']) expect(known.has(vendorKey(m)), m).toBe(true);
  });

  it('cites a source for every entry and uses every source it lists', () => {
    const used = new Set(dict.entries.flatMap((e) => e.sources));
    expect(Object.keys(dict.sources).filter((s) => !used.has(s))).toEqual([]);
  });

  it('keeps every released id on its pair (default-ids.txt), and lists every current id there', () => {
    const manifest = new Map<string, string>();
    for (const line of readFileSync(new URL('./default-ids.txt', import.meta.url), 'utf8').split('\n')) {
      const m = /^([a-z0-9-]+) ([0-9a-f]{16})$/.exec(line);
      if (m?.[1] && m[2]) manifest.set(m[1], m[2]);
    }
    expect(manifest.size).toBeGreaterThanOrEqual(600);
    const hashOf = (u: string, p: string): string => createHash('sha256').update(pairKey(u, p)).digest('hex').slice(0, 16);
    const byId = new Map(dict.entries.map((e) => [e.id, e]));
    const moved = [...manifest].filter(([id, h]) => {
      const e = byId.get(id);
      return e === undefined || hashOf(e.username, e.password) !== h;
    });
    // A released id never disappears or points at another pair: reports that name it must stay true.
    expect(moved.map(([id]) => id)).toEqual([]);
    const unlisted = dict.entries.filter((e) => !manifest.has(e.id)).map((e) => `${e.id} ${hashOf(e.username, e.password)}`);
    expect(unlisted, 'add these lines to src/access/dictionary/default-ids.txt').toEqual([]);
  });

  it('gives ids that never contain their password and stay unique', () => {
    expect(new Set(dict.entries.map((e) => e.id)).size).toBe(dict.entries.length);
    expect(dict.entries.filter((e) => e.password.length >= 4 && e.id.includes(e.password.toLowerCase()))).toEqual([]);
  });
});

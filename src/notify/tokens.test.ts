/**
 * API tokens and the operator table files: digests only (a token in the file is refused), every
 * digest compared, mistakes named with their line; contacts and tokens parsers fuzzed with a
 * seeded loop (they return or throw IotcleanError, nothing else).
 */
import { describe, expect, it } from 'vitest';
import { IotcleanError } from '../core/errors.js';
import { createRng } from '../core/rng.js';
import { parseContacts } from './contacts.js';
import { ispOfToken, parseTokens, tokenDigest } from './tokens.js';

describe('tokens', () => {
  const a = 'secret-token-of-a';
  const b = 'secret-token-of-b';
  const rotated = 'new-token-of-a';
  const tokens = parseTokens(`# tokens\nisp_id,sha256\nispa,${tokenDigest(a)}\nispb,${tokenDigest(b).toUpperCase()}\nispa,${tokenDigest(rotated)}\n`);

  it('finds the ISP of a token, several tokens per ISP allowed', () => {
    expect(ispOfToken(tokens, a)).toBe('ispa');
    expect(ispOfToken(tokens, rotated)).toBe('ispa');
    expect(ispOfToken(tokens, b)).toBe('ispb');
  });

  it('knows no other token, nor the digest itself', () => {
    for (const t of ['', 'secret-token-of-c', a.slice(0, -1), `${a} `, tokenDigest(a)]) expect(ispOfToken(tokens, t)).toBeUndefined();
  });

  it('holds digests only', () => {
    expect(tokens.every((t) => t.sha256.length === 32)).toBe(true);
    expect(JSON.stringify(tokens)).not.toContain(a);
  });

  it.each([
    [`ispa,${a}`, 'not a SHA-256 digest'],
    [`ispa,${tokenDigest(a)}\nispb,${tokenDigest(a)}`, 'both ispa and ispb'],
    [`ispa`, 'fields'],
    [`is pa,${tokenDigest(a)}`, 'isp_id'],
  ])('refuses %j', (text, word) => {
    expect(() => parseTokens(text, 'tokens.csv')).toThrow(IotcleanError);
    try {
      parseTokens(text, 'tokens.csv');
    } catch (e) {
      expect((e as IotcleanError).code).toBe('E_ARGS');
      expect((e as IotcleanError).message).toContain(word);
    }
  });
});

describe('fuzz: operator table files', () => {
  it('contacts and tokens parsers return or throw IotcleanError on random text', () => {
    const rng = createRng('notify-table-files');
    const pieces = ['ispa', ',', '"', '\n', '\r\n', '#', 'a@b.example', 'ja', 'en', '\u0000', ' ', 'isp_id,email,language', tokenDigest('x'), '\uFEFF', 'ア', '""', '\t'];
    for (let n = 0; n < 2000; n++) {
      const text = Array.from({ length: rng.int(30) }, () => rng.pick(pieces)).join('');
      for (const parse of [parseContacts, parseTokens]) {
        try {
          parse(text);
        } catch (e) {
          expect(e).toBeInstanceOf(IotcleanError);
        }
      }
    }
  });
});

/**
 * MurmurHash3 x86_32 against published reference vectors (SMHasher-verified set collected at
 * stackoverflow.com/questions/14747343, and the Python mmh3 README's "foo"), and Shodan's favicon
 * text layout (Python's base64.encodebytes).
 */
import { describe, expect, it } from 'vitest';
import { base64Lines, murmur3x86_32, shodanFaviconHash } from './mmh3.js';

const hex = (s: string) => Buffer.from(s, 'hex');

describe('murmur3x86_32', () => {
  it.each([
    ['', 0, 0],
    ['', 1, 0x514e28b7],
    ['', 0xffffffff, 0x81f16f39],
    ['ffffffff', 0, 0x76293b50],
    ['21436587', 0, 0xf55b516b],
    ['21436587', 0x5082edee, 0x2362f9de],
    ['214365', 0, 0x7e4a8634],
    ['2143', 0, 0xa0f7b07a],
    ['21', 0, 0x72661cf4],
    ['00000000', 0, 0x2362f9de],
    ['000000', 0, 0x85f0b427],
    ['0000', 0, 0x30f4c306],
    ['00', 0, 0x514e28b7],
  ])('bytes %s seed %d', (input, seed, expected) => {
    expect(murmur3x86_32(hex(input), seed)).toBe(expected);
  });

  it('matches the Python mmh3 README (signed results)', () => {
    expect(murmur3x86_32(Buffer.from('foo')) | 0).toBe(-156908512);
    expect(murmur3x86_32(Buffer.from('foo'))).toBe(4138058784);
    expect(murmur3x86_32(Buffer.from('foo'), 42) | 0).toBe(-1322301282);
    // Widely quoted seed-0 values (SMHasher's x86_32): "hello" 0x248bfa47, "test" 0xba6bd213.
    expect(murmur3x86_32(Buffer.from('hello')) | 0).toBe(613153351);
    expect(murmur3x86_32(Buffer.from('hello world')) | 0).toBe(1586663183);
    expect(murmur3x86_32(Buffer.from('test')) | 0).toBe(-1167338989);
  });
});

describe('Shodan favicon hash', () => {
  it('lays base64 out as encodebytes does: 76 characters a line, every line ending in a newline', () => {
    expect(base64Lines(new Uint8Array())).toBe('');
    expect(base64Lines(Buffer.from('a'))).toBe('YQ==\n');
    const fiftySeven = base64Lines(Buffer.alloc(57, 0x61));
    expect(fiftySeven).toBe(`${'YWFh'.repeat(19)}\n`);
    const lines = base64Lines(Buffer.alloc(200, 7)).split('\n');
    expect(lines.slice(0, -2).every((l) => l.length === 76)).toBe(true);
    expect(lines[lines.length - 1]).toBe('');
  });

  it('hashes that text, signed', () => {
    const icon = Buffer.from([0, 0, 1, 0, 1, 0, 16, 16, 0, 0, 1, 0, 32, 0, 0x68, 4, 0, 0, 22, 0, 0, 0]);
    const h = shodanFaviconHash(icon);
    expect(h).toBe(murmur3x86_32(Buffer.from(base64Lines(icon))) | 0);
    expect(Number.isInteger(h) && h >= -(2 ** 31) && h < 2 ** 31).toBe(true);
    expect(shodanFaviconHash(new Uint8Array())).toBe(0);
  });
});

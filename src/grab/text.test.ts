import { describe, expect, it } from 'vitest';
import { createRng } from '../core/rng.js';
import { bannerText, decodeText, looksLikeText } from './text.js';

describe('device text', () => {
  it('bannerText drops NUL, controls and ANSI colour, folds CR LF, keeps UTF-8', () => {
    expect(bannerText(Buffer.from('\x1b[1;32mRouter\x1b[0m\r\n\x00ok\x07\r\nログイン'))).toBe('Router\nok\nログイン');
    expect(bannerText(Buffer.from('abcdef'), 3)).toBe('abc');
  });

  it('decodeText: UTF-8 when valid, latin1 otherwise (nothing invented)', () => {
    expect(decodeText(Buffer.from('日本'))).toBe('日本');
    expect(decodeText(Buffer.of(0x82, 0xa0))).toBe('\x82\xa0');
  });

  it('looksLikeText: text in any encoding yes, random bytes no (fuzz)', () => {
    expect(looksLikeText(Buffer.from('BusyBox v1.19.4\r\n\tlogin: '))).toBe(true);
    expect(looksLikeText(Buffer.from([0x82, 0xe6, 0x82, 0xa4, 0x0d, 0x0a]))).toBe(true);
    const rnd = createRng('fuzz-text');
    let text = 0;
    for (let i = 0; i < 2000; i++) {
      const bytes = Buffer.from(Array.from({ length: 64 + rnd.int(1000) }, () => rnd.int(256)));
      if (looksLikeText(bytes)) text++;
      expect(bannerText(bytes, 100).length).toBeLessThanOrEqual(100);
    }
    expect(text).toBeLessThan(20); // under 1% of random buffers pass for text
  });
});

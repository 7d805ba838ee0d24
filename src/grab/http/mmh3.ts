/**
 * MurmurHash3 x86_32 (Austin Appleby's public-domain SMHasher algorithm) and Shodan's favicon
 * hash built on it. Shodan's http.favicon.hash is Python's `mmh3.hash(base64.encodebytes(data))`:
 * seed 0, the result read as a signed 32-bit integer, over base64 text broken into 76-character
 * lines each ending in "\n" (so a final newline too; nothing at all for empty data).
 */

const c1 = 0xcc9e2d51;
const c2 = 0x1b873593;

/** One 32-bit block scrambled before it is mixed into the state. */
function scramble(k: number): number {
  k = Math.imul(k, c1);
  k = (k << 15) | (k >>> 17);
  return Math.imul(k, c2);
}

/** MurmurHash3 x86_32 of `data` with `seed`, unsigned (0 … 2^32-1). */
export function murmur3x86_32(data: Uint8Array, seed = 0): number {
  const n = data.length;
  const blocks = n & ~3;
  let h = seed >>> 0;
  for (let i = 0; i < blocks; i += 4) {
    // Blocks are read little-endian, as the reference does on x86.
    const k = (data[i] ?? 0) | ((data[i + 1] ?? 0) << 8) | ((data[i + 2] ?? 0) << 16) | ((data[i + 3] ?? 0) << 24);
    h ^= scramble(k);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const rest = n & 3;
  if (rest > 0) {
    let k = 0;
    if (rest === 3) k ^= (data[blocks + 2] ?? 0) << 16;
    if (rest >= 2) k ^= (data[blocks + 1] ?? 0) << 8;
    k ^= data[blocks] ?? 0;
    h ^= scramble(k);
  }
  // Finalisation mix (fmix32): forces every input bit to affect every output bit.
  h ^= n;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Python's base64.encodebytes: 57 input bytes (76 characters) per line, each line ending in "\n". */
export function base64Lines(data: Uint8Array): string {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  let out = '';
  for (let i = 0; i < buf.length; i += 57) out += `${buf.subarray(i, i + 57).toString('base64')}\n`;
  return out;
}

/** Shodan's http.favicon.hash of the favicon bytes (signed 32-bit). */
export function shodanFaviconHash(data: Uint8Array): number {
  return murmur3x86_32(Buffer.from(base64Lines(data), 'latin1'), 0) | 0;
}

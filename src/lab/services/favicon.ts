/**
 * Favicons of emulated web UIs. Scanners hash /favicon.ico (Shodan's mmh3, Recog's MD5) to tell
 * models apart, so each profile's icon is stable (same bytes on every device of the model, every
 * run) and different between models. A profile names either a file under src/lab/profiles/assets/
 * or "gen:<label>": a 16×16 32-bit ICO whose 4×4 colour blocks come from SHA-256 of the label.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultProfilesDir, maxFaviconBytes } from '../profiles.js';

const cache = new Map<string, Buffer>();

/** A 16×16 ICO (one BMP image, 32 bpp, bottom-up rows, then the 1-bpp AND mask) drawn from a label. */
export function generatedIcon(label: string): Buffer {
  const hash = createHash('sha256').update(`iotclean-favicon:${label}`).digest();
  const size = 16;
  const pixels = size * size * 4;
  const mask = size * 4; // 16 rows of 16 bits, each row padded to 32 bits
  const image = 40 + pixels + mask;
  const out = Buffer.alloc(6 + 16 + image);
  out.writeUInt16LE(0, 0); // reserved
  out.writeUInt16LE(1, 2); // type: icon
  out.writeUInt16LE(1, 4); // one image
  out.writeUInt8(size, 6);
  out.writeUInt8(size, 7);
  out.writeUInt8(0, 8); // no palette
  out.writeUInt16LE(1, 10); // planes
  out.writeUInt16LE(32, 12); // bits per pixel
  out.writeUInt32LE(image, 14);
  out.writeUInt32LE(22, 18); // offset of the image
  out.writeUInt32LE(40, 22); // BITMAPINFOHEADER size
  out.writeInt32LE(size, 26);
  out.writeInt32LE(size * 2, 30); // height covers image and mask
  out.writeUInt16LE(1, 34);
  out.writeUInt16LE(32, 36);
  out.writeUInt32LE(0, 38); // BI_RGB
  out.writeUInt32LE(pixels + mask, 42);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const block = (y >> 2) * 4 + (x >> 2);
      const o = 62 + (y * size + x) * 4;
      // Two colours per block from the hash: enough that different labels give different icons.
      out[o] = hash[block % 32] ?? 0; // blue
      out[o + 1] = hash[(block + 8) % 32] ?? 0; // green
      out[o + 2] = hash[(block + 16) % 32] ?? 0; // red
      out[o + 3] = 0xff; // opaque
    }
  }
  return out;
}

/**
 * The icon bytes a profile's `favicon` banner value names, cached per value and folder. Files are
 * read from `assetsDir` (set by loadProfiles; checked there to exist and be small).
 */
export function faviconBytes(spec: string, assetsDir: string = join(defaultProfilesDir(), 'assets')): Buffer {
  const key = spec.startsWith('gen:') ? spec : join(assetsDir, spec);
  const hit = cache.get(key);
  if (hit) return hit;
  // The profile schema allows only a plain file name, so a file stays inside assetsDir.
  const bytes = spec.startsWith('gen:') ? generatedIcon(spec.slice(4)) : readFileSync(key).subarray(0, maxFaviconBytes);
  cache.set(key, bytes);
  return bytes;
}

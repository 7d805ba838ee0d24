/**
 * Content codings (RFC 9110 §8.4.1) a server applies although the request said
 * `Accept-Encoding: identity`: some embedded and misconfigured servers gzip regardless. The page is
 * decoded so its title and form can be read, with the output bounded (a small gzip bomb expands a
 * thousandfold) and a cut-off body decoded as far as it goes.
 */
import { brotliDecompressSync, constants, gunzipSync, inflateRawSync, inflateSync } from 'node:zlib';

/** Decoded bytes kept at most. */
export const maxDecodedBytes = 256 * 1024;

type Decode = (input: Buffer, max: number) => Buffer;

const gzip: Decode = (b, max) => gunzipSync(b, { finishFlush: constants.Z_SYNC_FLUSH, maxOutputLength: max });
// "deflate" is the zlib format (RFC 1950), but servers also send raw deflate (RFC 1951).
const deflate: Decode = (b, max) => {
  try {
    return inflateSync(b, { finishFlush: constants.Z_SYNC_FLUSH, maxOutputLength: max });
  } catch (e) {
    if (e instanceof RangeError) throw e;
    return inflateRawSync(b, { finishFlush: constants.Z_SYNC_FLUSH, maxOutputLength: max });
  }
};
const brotli: Decode = (b, max) => brotliDecompressSync(b, { finishFlush: constants.BROTLI_OPERATION_FLUSH, maxOutputLength: max });

const decoders: Readonly<Record<string, Decode>> = { gzip, 'x-gzip': gzip, deflate, br: brotli };

/** Decode with `decode`; past the output bound, decode the longest input prefix that fits (binary search, ≤ 17 rounds). */
function bounded(decode: Decode, input: Buffer, max: number): Buffer {
  try {
    return decode(input, max);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
  }
  let lo = 0;
  let hi = input.length;
  let best: Buffer = Buffer.alloc(0);
  while (lo < hi) {
    const mid = Math.floor((lo + hi + 1) / 2);
    try {
      best = decode(input.subarray(0, mid), max);
      lo = mid;
    } catch (e) {
      if (!(e instanceof RangeError)) break;
      hi = mid - 1;
    }
  }
  return best;
}

/**
 * The body with its Content-Encoding undone when it is one coding this knows; otherwise (identity,
 * several codings, an unknown one, or bytes that do not decode) the body as it came.
 */
export function decodeContent(body: Buffer, contentEncoding: string | undefined, max = maxDecodedBytes): { readonly bytes: Buffer; readonly decoded: boolean } {
  const coding = (contentEncoding ?? '').trim().toLowerCase();
  const decode = decoders[coding];
  if (!decode || body.length === 0) return { bytes: body, decoded: false };
  try {
    return { bytes: bounded(decode, body, max), decoded: true };
  } catch {
    return { bytes: body, decoded: false };
  }
}

/**
 * Bounded line reading for session logs: a device-facing ISP log can hold anything, so a line is
 * cut at {@link maxLineBytes} (and flagged), NULs are kept as text, and the file streams in chunks
 * of constant size, so a 10 GB log or a log without a single newline never fills memory.
 */
import { createReadStream } from 'node:fs';
import type { LogLine } from './types.js';

/** Longest line kept; the rest of a longer line is dropped and the line flagged as truncated. */
export const maxLineBytes = 8192;

/** Lines of a byte stream: LF or CRLF, decoded as UTF-8 (bad bytes become U+FFFD). */
export async function* linesOf(chunks: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>): AsyncIterable<LogLine> {
  const decoder = new TextDecoder('utf-8');
  let buf = '';
  let truncated = false;
  let n = 0;
  const emit = (text: string): LogLine => ({ n: ++n, text: text.endsWith('\r') ? text.slice(0, -1) : text, truncated });
  for await (const chunk of chunks) {
    const s = typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    let from = 0;
    for (;;) {
      const nl = s.indexOf('\n', from);
      const piece = nl < 0 ? s.slice(from) : s.slice(from, nl);
      if (!truncated) {
        buf += piece;
        if (buf.length > maxLineBytes) {
          buf = buf.slice(0, maxLineBytes);
          truncated = true;
        }
      }
      if (nl < 0) break;
      yield emit(buf);
      buf = '';
      truncated = false;
      from = nl + 1;
    }
  }
  const tail = buf + decoder.decode();
  if (tail.length > 0 || truncated) yield emit(tail.slice(0, maxLineBytes));
}

/** Lines of a file, streamed. */
export function fileLines(path: string): AsyncIterable<LogLine> {
  return linesOf(createReadStream(path, { highWaterMark: 64 * 1024 }));
}

/** Lines of an in-memory text (tests, the lab). */
export function textLines(text: string): AsyncIterable<LogLine> {
  return linesOf([text]);
}

/**
 * Items of one array inside a big JSON document, one at a time: NVD's yearly feeds hold
 * `{"vulnerabilities":[{"cve":…}, …]}` with hundreds of thousands of records, so the text is read
 * in chunks and each item is parsed alone; the document is never held whole.
 */
import { StringDecoder } from 'node:string_decoder';

/** Longest item accepted (the largest NVD records are a few MB of configurations). */
const maxItem = 64 * 1024 * 1024;

/** One array item: its parsed value, or why it could not be parsed (with its text's start). */
export type StreamedItem = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly why: string; readonly head: string };

/**
 * Yield each element of the array stored under `key` in the top-level object (at depth 1).
 * Other keys are skipped. A truncated document ends with an item error.
 */
export async function* jsonArrayItems(chunks: AsyncIterable<Buffer | string>, key: string): AsyncGenerator<StreamedItem> {
  const decoder = new StringDecoder('utf8');
  let depth = 0;
  let inString = false;
  let escaped = false;
  let str = '';
  let lastString: string | null = null;
  /** 0: looking for the array; 1: inside it between items; 2: inside an item; 3: done. */
  let mode = 0;
  let pieces: string[] = [];
  let itemStart = 0;
  let itemLen = 0;
  let itemDepth = 0;
  let tooBig = false;
  for await (const chunk of chunks) {
    const text = typeof chunk === 'string' ? chunk : decoder.write(chunk);
    if (mode === 3) continue;
    itemStart = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (inString) {
        if (escaped) escaped = false;
        else if (c === 0x5c) escaped = true;
        else if (c === 0x22) inString = false;
        if (mode === 0 && depth === 1) {
          if (inString) str += text[i];
          else lastString = str;
        }
        continue;
      }
      if (c === 0x22) {
        inString = true;
        if (mode === 0) str = '';
        continue;
      }
      if (c === 0x7b || c === 0x5b) {
        if (mode === 0 && depth === 1 && c === 0x5b && lastString === key) {
          mode = 1;
          depth++;
          continue;
        }
        if (mode === 1) {
          mode = 2;
          itemStart = i;
          itemDepth = depth;
          itemLen = 0;
          pieces = [];
          tooBig = false;
        }
        depth++;
        continue;
      }
      if (c === 0x7d || c === 0x5d) {
        depth--;
        if (mode === 2 && depth === itemDepth) {
          const part = text.slice(itemStart, i + 1);
          if (!tooBig) pieces.push(part);
          const body = pieces.join('');
          pieces = [];
          mode = 1;
          if (tooBig) yield { ok: false, why: `item longer than ${maxItem} characters`, head: '' };
          else {
            try {
              yield { ok: true, value: JSON.parse(body) };
            } catch (e) {
              yield { ok: false, why: (e as Error).message, head: body.slice(0, 200) };
            }
          }
        } else if (mode === 1 && c === 0x5d && depth === 1) mode = 3; // the array's own end
        continue;
      }
      if (mode === 1 && c !== 0x2c && c > 0x20) {
        // A scalar item (not an object): read up to the next comma or bracket.
        let j = i;
        while (j < text.length && text[j] !== ',' && text[j] !== ']') j++;
        const body = text.slice(i, j);
        yield { ok: false, why: 'array item is not an object', head: body.slice(0, 200) };
        i = j - 1;
      }
    }
    if (mode === 2) {
      const part = text.slice(itemStart);
      itemLen += part.length;
      if (itemLen > maxItem) {
        tooBig = true;
        pieces = [];
      } else pieces.push(part);
    }
  }
  if (mode === 2) yield { ok: false, why: 'document ends inside an item (truncated file?)', head: pieces.join('').slice(0, 200) };
}

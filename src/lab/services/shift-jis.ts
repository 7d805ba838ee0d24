/**
 * Shift_JIS encoding for the web pages of Japanese devices, many of which still serve
 * `<meta charset="Shift_JIS">`. TextEncoder only writes UTF-8, so the encoder's table is built
 * once from the platform's own decoder (WHATWG Encoding's shift_jis, which Node's TextDecoder
 * implements): every two-byte code (lead 0x81–0x9F, 0xE0–0xFC; trail 0x40–0x7E, 0x80–0xFC) is
 * decoded and the character mapped back to it. ASCII stays one byte; half-width katakana are
 * 0xA1–0xDF. A character Shift_JIS lacks becomes "?", as a device's encoder would write it.
 */
let table: Map<string, number> | undefined;

function buildTable(): Map<string, number> {
  const decoder = new TextDecoder('shift_jis');
  const map = new Map<string, number>();
  const pair = new Uint8Array(2);
  for (let lead = 0x81; lead <= 0xfc; lead++) {
    if (lead > 0x9f && lead < 0xe0) continue;
    for (let trail = 0x40; trail <= 0xfc; trail++) {
      if (trail === 0x7f) continue;
      pair[0] = lead;
      pair[1] = trail;
      const ch = decoder.decode(pair);
      // Unmapped codes decode to U+FFFD; the first code of a character wins (NEC/IBM duplicates).
      if (ch.length === 1 && ch !== '\ufffd' && !map.has(ch)) map.set(ch, (lead << 8) | trail);
    }
  }
  return map;
}

/** Encode text as Shift_JIS bytes. */
export function encodeShiftJis(text: string): Buffer {
  table ??= buildTable();
  const out: number[] = [];
  for (const ch of text) {
    const c = ch.codePointAt(0) ?? 0x3f;
    if (c < 0x80) out.push(c);
    else if (c >= 0xff61 && c <= 0xff9f) out.push(c - 0xff61 + 0xa1); // half-width katakana
    else {
      const code = table.get(ch);
      if (code === undefined) out.push(0x3f);
      else out.push(code >> 8, code & 0xff);
    }
  }
  return Buffer.from(out);
}

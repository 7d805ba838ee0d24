/** Test support for src/notify/: findings to notify, and an RFC 4180 reader to check the CSV. */
import type { Finding } from '../core/records.js';

/** A weak-credential finding of `isp`, with overrides. */
export function finding(isp: string | null, id: number, over: Partial<Finding> = {}): Finding {
  return {
    kind: 'weak-credential',
    id,
    ip: `127.90.${(id >> 8) & 255}.${id & 255}`,
    port: 23,
    protocol: 'telnet',
    observedAt: '2026-12-01T03:04:05.000Z',
    period: '2026-12',
    device: { type: 'router', vendor: 'Acme', model: 'AR-100', firmware: '1.0.2' },
    severity: 'high',
    details: { entry: 'mirai-042', username: 'admin' },
    evidence: [{ record: 'access-result', id }],
    surveyId: 1,
    planVersion: '2026.12-1',
    isp,
    prefixOwner: isp,
    held: isp === null ? 'no-isp' : null,
    ...over,
  };
}

/** Parse RFC 4180 CSV (quoted fields may hold commas, quotes and line breaks) into rows. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let i = 0;
  for (;;) {
    let value = '';
    if (text[i] === '"') {
      i++;
      for (;;) {
        const q = text.indexOf('"', i);
        if (q < 0) throw new Error('unterminated quote');
        value += text.slice(i, q);
        if (text[q + 1] === '"') {
          value += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
    } else {
      const m = /[,\r\n]|$/.exec(text.slice(i))!;
      value = text.slice(i, i + m.index);
      if (value.includes('"')) throw new Error(`stray quote at ${i}`);
      i += m.index;
    }
    row.push(value);
    if (text[i] === ',') {
      i++;
      continue;
    }
    if (text.startsWith('\r\n', i)) i += 2;
    else if (i < text.length) throw new Error(`unexpected ${JSON.stringify(text[i])} at ${i}`);
    rows.push(row);
    row = [];
    if (i >= text.length) return rows;
  }
}

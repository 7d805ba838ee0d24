/**
 * The one CSV line splitter (RFC 4180 quoting; no line breaks inside fields), shared by the
 * prefix-to-ISP table and the zmap importer. It returns a problem instead of throwing, so each
 * caller reports it in its own error (file, line, code).
 */

export type CsvSplit = { readonly fields: string[] } | { readonly problem: string; readonly hint: string };

/**
 * Split one line at commas. A field may be double-quoted, with "" for a quote inside; spaces and
 * tabs around fields are dropped (zmap 1.x wrote ", " between fields).
 */
export function splitCsvLine(line: string): CsvSplit {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    while (line[i] === ' ' || line[i] === '\t') i++;
    if (line[i] === '"') {
      let value = '';
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) return { problem: 'unterminated quoted field', hint: 'close the quote on the same line' };
        value += line.slice(i, q);
        if (line[q + 1] === '"') {
          value += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      while (line[i] === ' ' || line[i] === '\t') i++;
      fields.push(value);
      if (i >= line.length) return { fields };
      if (line[i] !== ',') return { problem: 'text after a closing quote', hint: 'write "" for a quote inside a quoted field' };
      i++;
    } else {
      const comma = line.indexOf(',', i);
      const raw = comma < 0 ? line.slice(i) : line.slice(i, comma);
      if (raw.includes('"')) return { problem: 'stray quote in an unquoted field', hint: 'quote the whole field and write "" for a quote' };
      fields.push(raw.trim());
      if (comma < 0) return { fields };
      i = comma + 1;
    }
  }
}

/** One field as CSV: quoted when it holds a quote or comma, has outer spaces or starts a comment. */
export function csvField(value: string): string {
  const needsQuotes = /[",]/.test(value) || value !== value.trim() || value.startsWith('#');
  return needsQuotes ? `"${value.replace(/"/g, '""')}"` : value;
}

/**
 * One field for a CSV meant to be opened in a spreadsheet: a value starting with "=", "+", "-",
 * "@", tab or CR would be run as a formula (OWASP "CSV Injection"), so it is prefixed with "'",
 * then quoted as {@link csvField} does. Device banners and models are untrusted text.
 */
export function csvCell(value: string | number | boolean | null): string {
  const text = value === null ? '' : String(value);
  const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  // One record per line: control characters (line breaks included) become spaces.
  return csvField(safe.replace(/[\u0000-\u001f\u007f]/g, ' '));
}

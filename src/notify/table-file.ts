/**
 * The small operator CSV files of notify (contacts, API tokens): one record per line, `#`
 * comments and blank lines skipped, an optional header line, each row validated with zod. The
 * first bad line fails the whole file with its line number: a half-read contacts list would mail
 * some ISPs and silently skip others.
 */
import { z } from 'zod';
import { splitCsvLine } from '../core/csv.js';
import { IotcleanError } from '../core/errors.js';
import { readInputFile, type FileKind } from '../core/files.js';

// Operator files are small; a huge one is a mistake (a findings export passed as contacts).
const maxBytes = 4 << 20;

/** Parse the text of one table file: columns by name, each row through `row`. */
export function parseTableText<T>(text: string, file: string, kind: FileKind, columns: readonly string[], row: z.ZodType<T>): T[] {
  if (text.length > maxBytes) throw new IotcleanError(kind.code, `${kind.name} is larger than ${maxBytes} bytes`, { file, hint: kind.hint });
  const out: T[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  let headerAllowed = true;
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const where = { file, line: i + 1, hint: kind.hint };
    const split = splitCsvLine(line);
    if ('problem' in split) throw new IotcleanError(kind.code, `${kind.name}: ${split.problem}`, { ...where, hint: split.hint });
    const first = headerAllowed;
    headerAllowed = false;
    if (first && split.fields.join(',').toLowerCase() === columns.join(',')) return;
    if (split.fields.length !== columns.length) {
      throw new IotcleanError(kind.code, `${kind.name}: ${split.fields.length} fields where ${columns.length} are expected (${columns.join(',')})`, where);
    }
    const parsed = row.safeParse(Object.fromEntries(columns.map((c, j) => [c, split.fields[j]])));
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new IotcleanError(kind.code, `${kind.name}: ${String(issue.path[0] ?? 'line')}: ${issue.message}`, where);
    }
    out.push(parsed.data);
  });
  return out;
}

/** Read and parse a table file. */
export async function loadTableFile<T>(path: string, kind: FileKind, columns: readonly string[], row: z.ZodType<T>): Promise<T[]> {
  return parseTableText(await readInputFile(path, kind), path, kind, columns, row);
}

/** An ISP id as contacts and tokens name it (the ids of the prefix-to-ISP table). */
export const ispIdSchema = z.string().min(1, 'the ISP id is empty').max(64, 'the ISP id is longer than 64 characters').regex(/^[A-Za-z0-9_.-]+$/, 'the ISP id may hold only letters, digits, _ . and -');

/**
 * The ISPs' abuse contacts for notification mail: a CSV file `isp_id,email,language` (language
 * ja or en: which summary comes first). Validated whole before anything is sent.
 */
import { z } from 'zod';
import { IotcleanError } from '../core/errors.js';
import type { FileKind } from '../core/files.js';
import { ispIdSchema, loadTableFile, parseTableText } from './table-file.js';

export const mailLanguages = ['ja', 'en'] as const;
export type MailLanguage = (typeof mailLanguages)[number];

export interface Contact {
  readonly isp: string;
  readonly email: string;
  readonly language: MailLanguage;
}

const kind: FileKind = { code: 'E_ARGS', name: 'contacts file', hint: 'one line per ISP: isp_id,email,language (language ja or en); see docs/notify-format.md' };
const columns = ['isp_id', 'email', 'language'] as const;
const row = z.object({
  isp_id: ispIdSchema,
  // A plain addr-spec (RFC 5321 mailbox) only: no display names, no lists, no line breaks.
  email: z.string().max(254, 'the address is longer than 254 characters').regex(/^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/, 'not an email address (write user@domain, nothing else)'),
  language: z.enum(mailLanguages, { message: 'language must be ja or en' }),
});

function toMap(rows: readonly z.infer<typeof row>[], file: string): Map<string, Contact> {
  const out = new Map<string, Contact>();
  for (const r of rows) {
    if (out.has(r.isp_id)) throw new IotcleanError('E_ARGS', `contacts file: ISP ${r.isp_id} is listed twice`, { file, hint: 'give one contact line per ISP (use a mailing list address for several people)' });
    out.set(r.isp_id, { isp: r.isp_id, email: r.email, language: r.language });
  }
  return out;
}

/** Parse a contacts file's text into a map by ISP id. */
export function parseContacts(text: string, file = 'contacts'): Map<string, Contact> {
  return toMap(parseTableText(text, file, kind, columns, row), file);
}

/** Read a contacts file. */
export async function loadContacts(path: string): Promise<Map<string, Contact>> {
  return toMap(await loadTableFile(path, kind, columns, row), path);
}

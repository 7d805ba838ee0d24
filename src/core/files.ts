/**
 * Reading an operator's input file, or failing with one error that names it. Scope, plan, ISP
 * table and import loaders all go through here, so a missing or unreadable file reads the same
 * everywhere.
 */
import { type Stats } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { IotcleanError, type ErrorCode } from './errors.js';

/** What the file is, for the message: its error code, a name ("scope file") and what to do. */
export interface FileKind {
  readonly code: ErrorCode;
  readonly name: string;
  readonly hint: string;
}

const reasons: Record<string, string> = {
  ENOENT: 'no such file',
  ENOTDIR: 'a folder on its path is a file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'it is a folder',
  ELOOP: 'too many symbolic links',
};

/** The IotcleanError for a file that cannot be read. */
export function unreadableFile(path: string, kind: FileKind, e: unknown): IotcleanError {
  const err = e as NodeJS.ErrnoException;
  const why = err.code ? `${reasons[err.code] ?? err.message} (${err.code})` : String(err.message ?? e);
  return new IotcleanError(kind.code, `cannot read ${kind.name}: ${why}`, { file: path, hint: kind.hint });
}

/** Check that `path` is a file that can be opened for reading (before streaming it). */
export async function statInputFile(path: string, kind: FileKind): Promise<Stats> {
  let info: Stats;
  try {
    info = await stat(path);
  } catch (e) {
    throw unreadableFile(path, kind, e);
  }
  if (info.isDirectory()) throw unreadableFile(path, kind, Object.assign(new Error('is a directory'), { code: 'EISDIR' }));
  return info;
}

/** Read a whole UTF-8 text file, or fail naming it. */
export async function readInputFile(path: string, kind: FileKind): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    throw unreadableFile(path, kind, e);
  }
}

/**
 * Import masscan and zmap output as Endpoint records, so a survey can start from a scan made with
 * the reference tools. Files are read as a stream, line by line: a country-sized scan does not fit
 * in memory, and one bad line must not cost the rest. Each format is one object in ./formats/
 * (how its files look is written there) and one line in `formats` below.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import { IotcleanError } from '../core/errors.js';
import { statInputFile, unreadableFile, type FileKind } from '../core/files.js';
import type { Endpoint } from '../core/records.js';
import { excerpt, type ImportFormatSpec, type LineParser, type Problem } from './formats/format.js';
import { masscanJson, masscanList } from './formats/masscan.js';
import { zmapCsv } from './formats/zmap.js';

export interface ImportOptions {
  /** Format of the file; 'auto' (default) decides from the first meaningful line. */
  readonly format?: ImportFormat | 'auto';
  /** 'strict' (default) throws at the first bad line; 'lenient' counts it, reports it and goes on. */
  readonly mode?: 'strict' | 'lenient';
  /** The scanned port, for zmap files without a `sport` column (zmap's default output). */
  readonly port?: number;
  /** seenAt for rows that carry no time; defaults to the file's modification time. */
  readonly seenAt?: string;
  /** Lenient mode: called with each bad line's error (the error sink). */
  readonly onError?: (error: IotcleanError) => void;
  /** Lenient mode: give up after this many bad lines (default: never). */
  readonly maxErrors?: number;
}

/** What an import did. Counts are live while it runs and final once iteration ends. */
export interface ImportSummary {
  readonly file: string;
  /** The format read; null while undecided or when the file held nothing. */
  readonly format: ImportFormat | null;
  /** Lines read, blank and comment lines included. */
  readonly lines: number;
  readonly endpoints: number;
  /** Valid rows that are not open TCP ports (closed, banner, udp, zmap rst/repeat, end markers). */
  readonly skipped: number;
  /** Bad lines (lenient mode). */
  readonly errors: number;
  /** The first bad lines' errors, at most `maxErrorSamples`. */
  readonly errorSamples: readonly IotcleanError[];
}

/** One import: iterate it for endpoints, then read its summary. */
export interface ImportRun extends AsyncIterable<Endpoint> {
  readonly summary: ImportSummary;
}

/** How many per-line errors a summary keeps; the count goes on past it. */
export const maxErrorSamples = 100;

/** A line longer than this is not scanner output; refusing it bounds memory on garbage input. */
const maxLineBytes = 1 << 20;

/** Import a masscan or zmap output file as endpoints, streaming. */
export function importScanFile(path: string, options: ImportOptions = {}): ImportRun {
  return makeRun(path, options, async () => {
    const info = await statInputFile(path, scanOutput);
    const input = createReadStream(path);
    return { input, close: () => input.destroy(), fallbackSeenAt: options.seenAt ?? info.mtime.toISOString() };
  });
}

/** Import from an open stream (stdin, a test fixture); `name` is used in messages. */
export function importScanStream(input: NodeJS.ReadableStream, name: string, options: ImportOptions = {}): ImportRun {
  return makeRun(name, options, async () => ({ input, fallbackSeenAt: options.seenAt ?? new Date().toISOString() }));
}

/** Decide the format from the first meaningful line, or undefined when it matches none. */
export function detectFormat(line: string): ImportFormat | undefined {
  const t = line.trim();
  return formats.find((f) => f.detect(t))?.name;
}

// --- the run: streaming, error policy, counting ---------------------------------------------------

interface Opened {
  readonly input: NodeJS.ReadableStream;
  /** Set when the run opened the input itself and so must close it, even when left early. */
  readonly close?: () => void;
  readonly fallbackSeenAt: string;
}

interface Counts {
  file: string;
  format: ImportFormat | null;
  lines: number;
  endpoints: number;
  skipped: number;
  errors: number;
  errorSamples: IotcleanError[];
}


function makeRun(file: string, options: ImportOptions, open: () => Promise<Opened>): ImportRun {
  const counts: Counts = { file, format: null, lines: 0, endpoints: 0, skipped: 0, errors: 0, errorSamples: [] };
  return {
    get summary(): ImportSummary {
      return Object.freeze({ ...counts, errorSamples: Object.freeze([...counts.errorSamples]) });
    },
    [Symbol.asyncIterator]: () => run(file, options, open, counts),
  };
}

async function* run(file: string, options: ImportOptions, open: () => Promise<Opened>, counts: Counts): AsyncGenerator<Endpoint> {
  Object.assign(counts, { format: null, lines: 0, endpoints: 0, skipped: 0, errors: 0, errorSamples: [] });
  const mode = options.mode ?? 'strict';
  const maxErrors = options.maxErrors ?? Infinity;
  if (options.port !== undefined && !(Number.isInteger(options.port) && options.port >= 1 && options.port <= 65535)) {
    throw new IotcleanError('E_IMPORT_FILE', `port option must be in 1..65535, got ${options.port}`, { file });
  }
  if (options.seenAt !== undefined && Number.isNaN(Date.parse(options.seenAt))) {
    throw new IotcleanError('E_IMPORT_FILE', `seenAt option is not a date: ${options.seenAt}`, { file });
  }

  const { input, close, fallbackSeenAt } = await open();
  const guard = new LineLengthGuard(maxLineBytes);
  // readline does not see errors of its input, so carry them through the guard it reads from.
  input.on('error', (e: Error) => guard.destroy(e));
  input.pipe(guard);
  const lines = createInterface({ input: guard, crlfDelay: Infinity });

  let parser: LineParser | undefined;
  const report = (lineNo: number, { problem, hint, fatal }: Problem): void => {
    const error = new IotcleanError('E_IMPORT_FILE', `${counts.format ?? 'scan output'}: ${problem}`, {
      file,
      line: lineNo,
      ...(hint ? { hint } : {}),
    });
    if (mode === 'strict' || fatal) throw error;
    counts.errors++;
    if (counts.errorSamples.length < maxErrorSamples) counts.errorSamples.push(error);
    options.onError?.(error);
    if (counts.errors > maxErrors) {
      throw new IotcleanError('E_IMPORT_FILE', `more than ${maxErrors} bad lines; giving up`, {
        file,
        line: lineNo,
        hint: 'is this the right file and format?',
      });
    }
  };

  try {
    for await (const raw of lines) {
      const lineNo = ++counts.lines;
      const line = lineNo === 1 ? raw.replace(/^\uFEFF/, '') : raw;
      if (!parser) {
        if (line.trim() === '') continue;
        // Scanner output is text; NUL or undecodable bytes in the first line mean a binary file.
        if (/[\u0000\uFFFD]/.test(line)) {
          throw new IotcleanError('E_IMPORT_FILE', 'binary data, not masscan or zmap text output', {
            file,
            line: lineNo,
            hint: 'masscan binary output (-oB) must be converted first: masscan --readscan FILE -oL out.txt',
          });
        }
        const format = options.format && options.format !== 'auto' ? options.format : detectFormat(line);
        if (!format) {
          throw new IotcleanError('E_IMPORT_FILE', `cannot tell the format from: ${excerpt(line)}`, {
            file,
            line: lineNo,
            hint: `give the format explicitly (${importFormats.join(', ')})`,
          });
        }
        counts.format = format;
        parser = formatNamed(format).parse({ port: options.port, fallbackSeenAt });
      }
      const result = parser.parse(line);
      if (result === 'blank') continue;
      if (result === 'skip') counts.skipped++;
      else if ('problem' in result) report(lineNo, result);
      else
        for (const endpoint of result) {
          counts.endpoints++;
          yield endpoint;
        }
    }
  } catch (e) {
    if (e instanceof IotcleanError) throw e;
    if ((e as NodeJS.ErrnoException).code === 'ELINETOOLONG') {
      throw new IotcleanError('E_IMPORT_FILE', (e as Error).message, { file, line: counts.lines + 1 });
    }
    throw unreadable(file, e);
  } finally {
    lines.close();
    guard.destroy();
    close?.();
  }
}

const scanOutput: FileKind = { code: 'E_IMPORT_FILE', name: 'scan output', hint: 'give the path of a masscan or zmap output file' };

function unreadable(file: string, e: unknown): IotcleanError {
  return unreadableFile(file, scanOutput, e);
}

/** Passes bytes through, failing when a line grows past `limit` bytes (readline would buffer it all). */
class LineLengthGuard extends Transform {
  private run = 0;
  constructor(private readonly limit: number) {
    super();
  }
  override _transform(chunk: Buffer | string, _enc: BufferEncoding, done: TransformCallback): void {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    let start = 0;
    for (let nl = buf.indexOf(10); nl !== -1; nl = buf.indexOf(10, start)) {
      if (this.run + nl - start > this.limit) return done(lineTooLong(this.limit));
      this.run = 0;
      start = nl + 1;
    }
    this.run += buf.length - start;
    if (this.run > this.limit) return done(lineTooLong(this.limit));
    done(null, buf);
  }
}

function lineTooLong(limit: number): Error {
  return Object.assign(new Error(`a line is longer than ${limit} bytes: not scanner text output`), { code: 'ELINETOOLONG' });
}


/** The registry, in detection order (the first whose `detect` accepts a file's first line wins). */
const formats = [masscanList, masscanJson, zmapCsv] as const;

/** Scanner output formats the importer reads. */
export type ImportFormat = (typeof formats)[number]['name'];
export const importFormats: readonly ImportFormat[] = formats.map((f) => f.name).sort();

function formatNamed(name: ImportFormat): ImportFormatSpec {
  const format = formats.find((f) => f.name === name);
  if (!format) throw new IotcleanError('E_ARGS', `unknown import format "${name}"`, { hint: `one of ${importFormats.join(', ')}` });
  return format;
}

/**
 * One small interface per output format: a batch is written as a head, one piece per finding and
 * a tail, so a file or an HTTP body streams a batch of any size without building one big string.
 */
import type { Finding } from '../../core/records.js';

/** What a format knows of the batch besides its findings. */
export interface BatchMeta {
  readonly ticket: string;
  readonly isp: string;
  readonly createdAt: string;
}

export interface FormatOptions {
  /** Start with a UTF-8 byte order mark (spreadsheet programs on Windows need it for Japanese text). */
  readonly bom?: boolean;
}

export interface BatchFormat {
  readonly name: string;
  /** File extension without the dot. */
  readonly extension: string;
  readonly mediaType: string;
  head(meta: BatchMeta, options?: FormatOptions): string;
  /** One finding; `index` is its 0-based place in the batch. */
  row(finding: Finding, meta: BatchMeta, index: number): string;
  tail(meta: BatchMeta, count: number): string;
}

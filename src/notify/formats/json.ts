/**
 * The batch as one JSON document: the NotificationBatch record (src/core/records.ts) with its
 * findings (secret-looking detail keys removed) and, after them, the counts per kind, so a
 * consumer can check it read everything.
 */
import type { Finding } from '../../core/records.js';
import { publicFinding } from '../public.js';
import type { BatchFormat } from './types.js';

export const jsonFormat: BatchFormat = {
  name: 'json',
  extension: 'json',
  mediaType: 'application/json; charset=utf-8',
  head: (meta) => `{"kind":"notification-batch","ticket":${JSON.stringify(meta.ticket)},"isp":${JSON.stringify(meta.isp)},"createdAt":${JSON.stringify(meta.createdAt)},"findings":[\n`,
  row: (finding: Finding, _meta, index) => `${index > 0 ? ',\n' : ''}${JSON.stringify(publicFinding(finding))}`,
  tail: (_meta, count) => `\n],"count":${count}}\n`,
};

/**
 * Reading the vulnerability files an operator provides: the kind of each file is detected from its
 * first bytes, `.gz` is inflated on the fly, and records come out one at a time, each either
 * normalised or reported as bad with its CVE id (the rest of the file is still read).
 */
import { createReadStream } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createGunzip, gunzipSync } from 'node:zlib';
import { IotcleanError } from '../../core/errors.js';
import type { CveRecord, EpssScore, KevEntry } from '../types.js';
import { normaliseCve5 } from './cve5.js';
import { readEpssLine } from './epss.js';
import { jsonArrayItems } from './json-stream.js';
import { normaliseKev, rawKevId } from './kev.js';
import { normaliseNvd, nvdKevHint, rawCveId } from './nvd.js';

/** The file kinds `vuln import` reads. */
export const vulnFileKinds = ['nvd-feed', 'nvd-record', 'cve5', 'kev', 'epss'] as const;
export type VulnFileKind = (typeof vulnFileKinds)[number];

/** One thing read from a file. */
export type VulnItem =
  | { readonly kind: 'cve'; readonly record: CveRecord }
  | { readonly kind: 'kev'; readonly entry: KevEntry }
  | { readonly kind: 'epss'; readonly score: EpssScore }
  /** A KEV listing NVD copied into a record (nvd.ts nvdKevHint): used only when no catalogue is given. */
  | { readonly kind: 'kev-hint'; readonly entry: KevEntry }
  | { readonly kind: 'bad'; readonly id: string | null; readonly why: string };

/** Files bigger than this are only read streaming (an NVD feed); records are read whole. */
const wholeLimit = 64 * 1024 * 1024;

function zodWhy(e: unknown): string {
  const issues = (e as { issues?: { path: (string | number)[]; message: string }[] }).issues;
  if (issues?.length) return issues.slice(0, 3).map((i) => `${i.path.join('.') || '(record)'}: ${i.message}`).join('; ');
  return e instanceof Error ? e.message : String(e);
}

async function head(path: string): Promise<string> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(65536);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    let b = buf.subarray(0, bytesRead);
    if (b[0] === 0x1f && b[1] === 0x8b) {
      // Inflate just the start of a gzip file.
      const chunks: Buffer[] = [];
      await new Promise<void>((resolve) => {
        const z = createGunzip();
        let got = 0;
        z.on('data', (d: Buffer) => {
          chunks.push(d);
          got += d.length;
          if (got > 65536) z.destroy();
        });
        z.on('close', () => resolve());
        z.on('error', () => resolve());
        z.on('end', () => resolve());
        z.end(b);
      });
      b = Buffer.concat(chunks);
    }
    return b.toString('utf8');
  } finally {
    await fh.close();
  }
}

/** Detect a file's kind from its first 64 KiB; E_VULN_DATA when it is none of them. */
export async function detectVulnFile(path: string): Promise<VulnFileKind> {
  const h = (await head(path)).replace(/^\uFEFF/, '');
  const t = h.trimStart();
  if (t.startsWith('#model_version') || /^cve\s*,\s*epss/i.test(t)) return 'epss';
  if (t.startsWith('{') || t.startsWith('[')) {
    if (/"catalogVersion"\s*:/.test(h) || /"cveID"\s*:/.test(h)) return 'kev';
    if (/"dataType"\s*:\s*"CVE_RECORD"/.test(h) || /"cveMetadata"\s*:/.test(h)) return 'cve5';
    if (/"vulnerabilities"\s*:\s*\[/.test(h)) return 'nvd-feed';
    if (/"id"\s*:\s*"CVE-/.test(h) && /"(sourceIdentifier|configurations|vulnStatus|descriptions)"\s*:/.test(h)) return 'nvd-record';
  }
  throw new IotcleanError('E_VULN_DATA', `${path}: not an NVD CVE JSON 2.0 record or feed, CVE JSON 5 record, CISA KEV catalogue or FIRST EPSS CSV`, {
    file: path,
    hint: 'give NVD JSON 2.0 (record or yearly/modified feed, optionally .gz), cvelistV5 records, known_exploited_vulnerabilities.json or an epss_scores CSV',
  });
}

function stream(path: string): NodeJS.ReadableStream {
  const s = createReadStream(path, { highWaterMark: 1 << 20 });
  return path.endsWith('.gz') ? s.pipe(createGunzip()) : s;
}

async function whole(path: string): Promise<unknown> {
  const st = await stat(path);
  if (st.size > wholeLimit) throw new IotcleanError('E_VULN_DATA', `${path}: ${st.size} bytes is too big for a single record`, { file: path, hint: 'feeds are read streaming: give the NVD feed form {"vulnerabilities":[…]}' });
  const chunks: Buffer[] = [];
  for await (const c of createReadStream(path)) chunks.push(c as Buffer);
  let buf = Buffer.concat(chunks);
  if (buf[0] === 0x1f && buf[1] === 0x8b) buf = gunzipSync(buf, { maxOutputLength: wholeLimit });
  try {
    return JSON.parse(buf.toString('utf8').replace(/^\uFEFF/, ''));
  } catch (e) {
    throw new IotcleanError('E_VULN_DATA', `${path}: not valid JSON (${(e as Error).message})`, { file: path, hint: 'check the file is complete' });
  }
}

function one<T>(normalise: (raw: unknown) => T, raw: unknown, id: (raw: unknown) => string | null): { ok: true; value: T } | { ok: false; item: VulnItem } {
  try {
    return { ok: true, value: normalise(raw) };
  } catch (e) {
    return { ok: false, item: { kind: 'bad', id: id(raw), why: zodWhy(e) } };
  }
}

/** Read one file of the given (or detected) kind, record by record. */
export async function* readVulnFile(path: string, kind?: VulnFileKind): AsyncGenerator<VulnItem> {
  const k = kind ?? (await detectVulnFile(path));
  if (k === 'nvd-feed') {
    for await (const it of jsonArrayItems(stream(path) as AsyncIterable<Buffer>, 'vulnerabilities')) {
      if (!it.ok) {
        yield { kind: 'bad', id: /CVE-\d{4}-\d{4,}/.exec(it.head)?.[0] ?? null, why: it.why };
        continue;
      }
      const raw = (it.value as { cve?: unknown } | null)?.cve ?? it.value;
      const r = one(normaliseNvd, raw, rawCveId);
      yield r.ok ? { kind: 'cve', record: r.value } : r.item;
      const hint = r.ok ? nvdKevHint(raw) : undefined;
      if (hint) yield { kind: 'kev-hint', entry: hint };
    }
    return;
  }
  if (k === 'epss') {
    const rl = createInterface({ input: stream(path), crlfDelay: Infinity });
    let date: string | null = null;
    for await (const line of rl) {
      const l = readEpssLine(line.length > 4096 ? line.slice(0, 4096) : line, date);
      if (l.kind === 'meta') date = l.date ? l.date.slice(0, 10) : date;
      else if (l.kind === 'score') yield { kind: 'epss', score: l.score };
      else if (l.kind === 'bad') yield { kind: 'bad', id: l.cve, why: l.why };
    }
    return;
  }
  const doc = await whole(path);
  if (k === 'kev') {
    const list = (doc as { vulnerabilities?: unknown })?.vulnerabilities ?? doc;
    if (!Array.isArray(list)) throw new IotcleanError('E_VULN_DATA', `${path}: KEV catalogue without a vulnerabilities array`, { file: path, hint: 'give CISA\'s known_exploited_vulnerabilities.json' });
    for (const raw of list) {
      const r = one(normaliseKev, raw, rawKevId);
      yield r.ok ? { kind: 'kev', entry: r.value } : r.item;
    }
    return;
  }
  const normalise = k === 'cve5' ? normaliseCve5 : normaliseNvd;
  const raw = k === 'nvd-record' ? ((doc as { cve?: unknown }).cve ?? doc) : doc;
  const r = one(normalise, raw, rawCveId);
  yield r.ok ? { kind: 'cve', record: r.value } : r.item;
  const hint = r.ok && k === 'nvd-record' ? nvdKevHint(raw) : undefined;
  if (hint) yield { kind: 'kev-hint', entry: hint };
}

/** A path given on the command line: a file, or the record files (.json, .json.gz, .csv) in a directory. */
export async function expandVulnPaths(paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) {
    let st;
    try {
      st = await stat(p);
    } catch {
      throw new IotcleanError('E_VULN_DATA', `${p}: no such file or directory`, { file: p, hint: 'give a vulnerability data file or a directory of them' });
    }
    if (st.isDirectory()) {
      const names = (await readdir(p)).filter((n) => /\.(json|json\.gz|csv|csv\.gz)$/i.test(n) && !/^schema\.json$/i.test(n)).sort();
      out.push(...names.map((n) => join(p, n)));
    } else out.push(p);
  }
  return out;
}

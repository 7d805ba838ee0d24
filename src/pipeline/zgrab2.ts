/**
 * zgrab2 JSON lines as observations (`iotclean grab FILE --format zgrab2`), so banners grabbed
 * with the reference tool go through the same identification. One line is one target:
 *   {"ip": "...", "domain"?: "...", "data": {"<scan name>": {"status", "protocol", "result", "timestamp", "error"?}}}
 * (zgrab2's ScanResponse, module.go). zgrab2 does not write the port: it is the line's or the
 * entry's `port` when present, else --port, else the protocol's default port.
 *
 * Each entry's `result` is mapped onto our fields (src/grab/fields.ts) for telnet, ssh, http(s),
 * ftp and banner as far as zgrab2 records the same facts; the result itself is kept, bounded,
 * under `fields.zgrab2`. Everything is untrusted text: bounded, never interpreted.
 */
import { createReadStream } from 'node:fs';
import { IotcleanError } from '../core/errors.js';
import { statInputFile, unreadableFile, type FileKind } from '../core/files.js';
import { parseIpv4, type Ipv4Range } from '../core/ip.js';
import type { Endpoint, GrabStatus, Observation } from '../core/records.js';
import { checkIp, checkPort, excerpt, type Problem } from '../discover/formats/format.js';
import type { CompiledScope } from '../scope/scope.js';
import type { Store } from '../store/store.js';

/** Longest text kept per field (banner, body); zgrab2's own cap is larger. */
const maxText = 4096;
/** Largest zgrab2 result JSON kept under fields.zgrab2. */
const maxResultJson = 64 * 1024;

const defaultPorts: Readonly<Record<string, number>> = { telnet: 23, ssh: 22, http: 80, https: 443, ftp: 21, mqtt: 1883, rtsp: 554 };

/** zgrab2's status strings (status.go) onto our closed set. */
const statuses: Readonly<Record<string, GrabStatus>> = {
  success: 'success',
  'connection-refused': 'connection-refused',
  'connection-timeout': 'connection-timeout',
  'connection-closed': 'connection-closed',
  'io-timeout': 'io-timeout',
  'protocol-error': 'protocol-error',
  'application-error': 'protocol-error',
  'blocklisted-target': 'blocklisted-target',
  'unknown-error': 'unknown-error',
};

/** One line's endpoints, each with the observations made there (ids not yet known). */
export interface Zgrab2Target {
  readonly endpoint: Endpoint;
  readonly observations: readonly Observation[];
}

export type Zgrab2LineResult = readonly Zgrab2Target[] | 'blank' | Problem;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === 'string' ? v.slice(0, maxText) : null);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string').slice(0, 256).map((x) => x.slice(0, 256)) : []);
const get = (v: unknown, ...path: string[]): unknown => path.reduce<unknown>((o, k) => (isObject(o) ? o[k] : undefined), v);

/** Printable ASCII kept, everything else as \xNN (GenericFields.text). */
function escaped(text: string): string {
  let out = '';
  for (const ch of Buffer.from(text, 'utf8').subarray(0, maxText)) out += ch >= 0x20 && ch < 0x7f ? String.fromCharCode(ch) : `\\x${ch.toString(16).padStart(2, '0')}`;
  return out.slice(0, maxText);
}

function telnetFields(r: Json): Json {
  const banner = str(r.banner) ?? '';
  const last = banner.split(/\r?\n/).filter((l) => l.trim() !== '').at(-1)?.trim() ?? '';
  const prompt = /(login|user(name)?|password)\s*:\s*$|[#$>]\s*$/i.test(last) ? last : null;
  const names = (v: unknown) => (Array.isArray(v) ? v.map((o) => (isObject(o) ? (str(o.name) ?? String(o.value ?? '')) : '')).filter((x) => x !== '').slice(0, 64) : []);
  return { banner, prompt, loginPrompt: /(login|user(name)?)\s*:\s*$/i.test(last), passwordPrompt: /password\s*:\s*$/i.test(last), will: names(r.will), do: names(r.do) };
}

function sshFields(r: Json): Json {
  const id = get(r, 'server_id');
  const version = str(get(id, 'version')) ?? '';
  const software = str(get(id, 'software')) ?? '';
  const comment = str(get(id, 'comment'));
  const raw = str(get(id, 'raw'))?.replace(/\r?\n$/, '') ?? `SSH-${version}-${software}${comment ? ` ${comment}` : ''}`;
  const kex = get(r, 'server_key_exchange');
  const fp = str(get(r, 'key_exchange', 'server_host_key', 'fingerprint_sha256'));
  const algorithm = str(get(r, 'algorithm_selection', 'host_key_algorithm'));
  return {
    ident: raw,
    protoVersion: version,
    software,
    comments: comment,
    kexAlgorithms: strings(get(kex, 'kex_algorithms')),
    hostKeyAlgorithms: strings(get(kex, 'host_key_algorithms')),
    ciphers: strings(get(kex, 'client_to_server_ciphers')),
    macs: strings(get(kex, 'client_to_server_macs')),
    compression: strings(get(kex, 'client_to_server_compression')),
    // zgrab2 writes the key's SHA-256 in hex; ours is OpenSSH's "SHA256:" + unpadded base64.
    hostKey: fp && /^[0-9a-f]{64}$/i.test(fp) ? { algorithm: algorithm ?? 'unknown', sha256: `SHA256:${Buffer.from(fp, 'hex').toString('base64').replace(/=+$/, '')}` } : null,
    authMethods: null,
    noneAccepted: false,
  };
}

/** zgrab2 header keys are lower-case with "_" for "-", values arrays; "unknown" holds the rest. */
function httpHeaders(h: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isObject(h)) return out;
  for (const [k, v] of Object.entries(h).slice(0, 128)) {
    if (k === 'unknown' && Array.isArray(v)) {
      for (const u of v.slice(0, 64)) if (isObject(u) && typeof u.key === 'string') out[u.key.toLowerCase().slice(0, 128)] = strings(u.value).join(', ');
    } else out[k.replace(/_/g, '-').slice(0, 128)] = (k === 'set_cookie' ? strings(v).join('\n') : strings(v).join(', ')).slice(0, maxText);
  }
  return out;
}

function httpFields(r: Json): Json {
  const resp = get(r, 'response');
  const headers = httpHeaders(get(resp, 'headers'));
  const body = str(get(resp, 'body')) ?? '';
  const title = /<title[^>]*>([^<]{0,512})/i.exec(body)?.[1]?.trim() ?? null;
  const scheme = str(get(resp, 'request', 'url', 'scheme')) === 'https' ? 'https' : 'http';
  const auth = headers['www-authenticate'];
  const challenge = auth ? /^\s*([A-Za-z-]+)(?:.*?realm="([^"]{0,256})")?/.exec(auth) : null;
  const status = get(resp, 'status_code');
  return {
    scheme,
    status: typeof status === 'number' ? status : 0,
    statusLine: str(get(resp, 'status_line')) ?? '',
    headers,
    server: headers.server ?? null,
    title,
    body,
    bodyBytes: typeof get(resp, 'content_length') === 'number' && (get(resp, 'content_length') as number) >= 0 ? get(resp, 'content_length') : Buffer.byteLength(body),
    wwwAuthenticate: challenge ? [{ scheme: challenge[1]!, realm: challenge[2] ?? null, algorithm: null }] : [],
    loginForm: null,
    favicon: null,
    certificate: null,
    tlsVersion: null,
    redirects: [],
    path: str(get(resp, 'request', 'url', 'path')) ?? '/',
  };
}

/** Map one zgrab2 entry onto (module, fields); unknown protocols keep only fields.zgrab2. */
function mapEntry(protocol: string, result: unknown): { module: string; fields: Json; banner: string | null } {
  const r = isObject(result) ? result : {};
  const kept = JSON.stringify(r);
  const zgrab2 = kept.length <= maxResultJson ? r : { truncated: true, bytes: kept.length };
  switch (protocol) {
    case 'telnet': {
      const f = telnetFields(r);
      return { module: 'telnet', fields: { ...f, zgrab2 }, banner: f.banner as string };
    }
    case 'ssh':
      return { module: 'ssh', fields: { ...sshFields(r), zgrab2 }, banner: str(get(r, 'server_id', 'raw')) };
    case 'http': {
      const f = httpFields(r);
      return { module: f.scheme as string, fields: { ...f, zgrab2 }, banner: null };
    }
    case 'ftp': {
      const banner = str(r.banner) ?? '';
      return { module: 'ftp', fields: { banner, code: Number(/^(\d{3})/.exec(banner)?.[1] ?? 0), zgrab2 }, banner };
    }
    case 'banner': {
      const banner = str(r.banner) ?? '';
      return { module: 'generic', fields: { text: escaped(banner), bytes: typeof r.length === 'number' ? r.length : Buffer.byteLength(banner), zgrab2 }, banner };
    }
    default:
      return { module: `zgrab2-${protocol.replace(/[^a-z0-9_.-]/g, '-')}`.slice(0, 64), fields: { zgrab2 }, banner: null };
  }
}

/** Parse one line of zgrab2 output; `port` is the --port given, if any. */
export function parseZgrab2Line(line: string, options: { readonly port?: number; readonly fallbackTime: string; readonly surveyId: number | null }): Zgrab2LineResult {
  const t = line.trim();
  if (t === '') return 'blank';
  let doc: unknown;
  try {
    doc = JSON.parse(t);
  } catch {
    return { problem: `not JSON: ${excerpt(t)}`, hint: 'zgrab2 writes one JSON object per line (its default output)' };
  }
  if (!isObject(doc)) return { problem: `not a JSON object: ${excerpt(t)}` };
  const ip = typeof doc.ip === 'string' ? checkIp(doc.ip) : { problem: 'no "ip" field' };
  if (typeof ip !== 'string') return { problem: ip.problem };
  if (!isObject(doc.data)) return { problem: 'no "data" object (zgrab2 writes data.<scan name>)' };
  const byEndpoint = new Map<number, Observation[]>();
  for (const [name, entry] of Object.entries(doc.data).slice(0, 64)) {
    if (!isObject(entry)) return { problem: `data.${excerpt(name)} is not an object` };
    const protocol = (typeof entry.protocol === 'string' && /^[a-z0-9_-]{1,32}$/i.test(entry.protocol) ? entry.protocol : name).toLowerCase();
    const port = checkPort(entry.port) ?? checkPort(doc.port) ?? options.port ?? defaultPorts[protocol];
    if (port === undefined) return { problem: `data.${excerpt(name)}: no port for protocol "${protocol}"`, hint: 'pass the port zgrab2 scanned with --port' };
    const status = typeof entry.status === 'string' ? statuses[entry.status] : undefined;
    if (!status) return { problem: `data.${excerpt(name)}: unknown status ${excerpt(String(entry.status))}` };
    const time = typeof entry.timestamp === 'string' && !Number.isNaN(Date.parse(entry.timestamp)) ? new Date(entry.timestamp).toISOString() : options.fallbackTime;
    const mapped = mapEntry(protocol, entry.result);
    const banner = mapped.banner === null ? '' : mapped.banner;
    const o: Observation = {
      kind: 'observation',
      surveyId: options.surveyId,
      endpointId: null,
      ip,
      port,
      module: mapped.module,
      status,
      recognised: status === 'success' && !mapped.module.startsWith('zgrab2-'),
      fields: mapped.fields,
      raw: Buffer.from(banner, 'utf8').subarray(0, maxText).toString('base64'),
      bytesReceived: Buffer.byteLength(banner),
      ...(typeof entry.error === 'string' ? { error: entry.error.slice(0, maxText) } : {}),
      observedAt: time,
      durationMs: 0,
      source: 'zgrab2',
    };
    const list = byEndpoint.get(port) ?? [];
    list.push(o);
    byEndpoint.set(port, list);
  }
  if (byEndpoint.size === 0) return { problem: 'data is empty: no scan results on this line' };
  return [...byEndpoint].map(([port, observations]) => ({
    endpoint: { kind: 'endpoint', ip, port, seenAt: observations[0]!.observedAt, source: 'zgrab2' },
    observations,
  }));
}

// --- reading a file into the store -------------------------------------------------------------

/** A line longer than this is not zgrab2 output worth keeping; it is reported and skipped. */
export const maxZgrab2LineBytes = 16 << 20;

const zgrab2File: FileKind = { code: 'E_IMPORT_FILE', name: 'zgrab2 output', hint: 'give the path of a zgrab2 JSON lines file' };

/** Lines of a file with their numbers, each bounded: an over-long line comes as `tooLong`. */
async function* boundedLines(path: string): AsyncGenerator<{ readonly n: number; readonly text: string; readonly tooLong: boolean }> {
  const input = createReadStream(path);
  let parts: Buffer[] = [];
  let size = 0;
  let tooLong = false;
  let n = 0;
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      let from = 0;
      for (;;) {
        const nl = chunk.indexOf(0x0a, from);
        const piece = chunk.subarray(from, nl === -1 ? chunk.length : nl);
        if (!tooLong) {
          if (size + piece.length > maxZgrab2LineBytes) {
            tooLong = true;
            parts = [];
          } else parts.push(piece);
        }
        size += piece.length;
        if (nl === -1) break;
        n++;
        yield { n, text: tooLong ? '' : Buffer.concat(parts).toString('utf8'), tooLong };
        parts = [];
        size = 0;
        tooLong = false;
        from = nl + 1;
      }
    }
    if (size > 0) yield { n: n + 1, text: tooLong ? '' : Buffer.concat(parts).toString('utf8'), tooLong };
  } catch (e) {
    throw unreadableFile(path, zgrab2File, e);
  } finally {
    input.destroy();
  }
}

export interface Zgrab2ImportRequest {
  readonly store: Store;
  readonly file: string;
  /** Rows outside the scope are never stored (later stages would connect to them); outside targets, skipped. */
  readonly scope: CompiledScope;
  readonly targets: CompiledScope;
  readonly planDigest: string;
  /** Survey targets to record (what the scan covered is unknown without --targets). */
  readonly surveyTargets: readonly Ipv4Range[];
  readonly port?: number;
  /** Each bad line's error, with its line number: the line is skipped, the rest imported. */
  readonly onError?: (e: IotcleanError) => void;
}

export interface Zgrab2ImportSummary {
  readonly surveyId: number;
  readonly lines: number;
  readonly endpoints: number;
  readonly observations: number;
  readonly errors: number;
  /** The first bad lines (at most 100), by number. */
  readonly problems: readonly { readonly line: number; readonly message: string }[];
  readonly outsideScope: number;
  readonly outsideTargets: number;
}

/**
 * Import a zgrab2 file as a new survey: its endpoints (as with a masscan import, all or nothing),
 * then their observations, read in a second pass so memory stays flat for any file size.
 */
export async function importZgrab2File(req: Zgrab2ImportRequest): Promise<Zgrab2ImportSummary> {
  const { store, file } = req;
  const info = await statInputFile(file, zgrab2File);
  const fallbackTime = info.mtime.toISOString();
  let lines = 0;
  let errors = 0;
  const problems: { line: number; message: string }[] = [];
  let outsideScope = 0;
  let outsideTargets = 0;
  const keep = (ip: string, count: boolean) => {
    const n = parseIpv4(ip) ?? -1;
    if (!req.scope.allows(n)) {
      if (count) outsideScope++;
      return false;
    }
    if (!req.targets.allows(n)) {
      if (count) outsideTargets++;
      return false;
    }
    return true;
  };
  /** Parsed lines; the first pass reports problems and counts, the second only reads. */
  async function* targetsOf(first: boolean): AsyncGenerator<Zgrab2Target> {
    for await (const line of boundedLines(file)) {
      if (first) lines = line.n;
      const parsed: Zgrab2LineResult = line.tooLong
        ? { problem: `line longer than ${maxZgrab2LineBytes} bytes` }
        : parseZgrab2Line(line.text, { ...(req.port !== undefined ? { port: req.port } : {}), fallbackTime, surveyId: null });
      if (parsed === 'blank') continue;
      if (!Array.isArray(parsed)) {
        if (first) {
          errors++;
          const p = parsed as Problem;
          if (problems.length < 100) problems.push({ line: line.n, message: p.problem });
          req.onError?.(new IotcleanError('E_IMPORT_FILE', p.problem, { file, line: line.n, ...(p.hint ? { hint: p.hint } : {}) }));
        }
        continue;
      }
      for (const t of parsed) if (keep(t.endpoint.ip, first)) yield t;
    }
  }
  const seen = new Set<string>();
  const imported = await store.surveys.import(
    { planDigest: req.planDigest, scope: { source: req.scope.source, ranges: req.scope.ranges }, targets: req.surveyTargets, seed: 0, shard: { index: 0, count: 1 }, workers: 0, startedAt: new Date().toISOString() },
    (async function* () {
      for await (const t of targetsOf(true)) {
        const key = `${t.endpoint.ip}:${t.endpoint.port}`;
        if (seen.has(key)) continue;
        seen.add(key);
        yield t.endpoint;
      }
    })(),
  );
  seen.clear();
  const ids = new Map<string, number>();
  for await (const e of store.endpoints.list(imported.surveyId)) ids.set(`${e.ip}:${e.port}`, e.id!);
  let observations = 0;
  let batch: Observation[] = [];
  for await (const t of targetsOf(false)) {
    const endpointId = ids.get(`${t.endpoint.ip}:${t.endpoint.port}`);
    if (endpointId === undefined) continue;
    for (const o of t.observations) batch.push({ ...o, surveyId: imported.surveyId, endpointId });
    if (batch.length >= 500) {
      observations += (await store.observations.add(batch)).length;
      batch = [];
    }
  }
  observations += (await store.observations.add(batch)).length;
  return { surveyId: imported.surveyId, lines, endpoints: imported.count, observations, errors, problems, outsideScope, outsideTargets };
}

/**
 * The grab runner: for one endpoint it picks the modules to try, opens each connection through the
 * guard (src/scope/connection.ts), keeps the first bytes read as the observation's raw bytes,
 * bounds reconnects and time, closes everything, and wraps each module's outcome in one
 * Observation envelope. A module that throws or never returns is an observation with a status,
 * not a failed batch.
 *
 * The protocol is found regardless of port (LZR, Izhikevich et al., USENIX Security 2021): the
 * plan's service is tried first; on a mismatch the first bytes the peer sent pick the next module
 * (each module's recognise()), a silent peer gets the client-first protocols, and bytes nobody
 * recognises end with the generic first-bytes grab.
 */
import type { GrabStatus, Observation } from '../core/records.js';
import type { ServiceName } from '../pipeline/services.js';
import { openConnection, type Connection, type ConnectionLimits, type OpenResult, type ReadResult } from '../scope/connection.js';
import type { CompiledScope } from '../scope/scope.js';
import { grabModule, grabModules, moduleForPort, moduleForService } from './index.js';
import type { GrabContext, GrabModule, ModuleOutcome } from './module.js';
import { errorText } from './text.js';

/** Bytes of what the peer sent kept as Observation.raw (enough for every banner rule; a page is summarised in fields). */
export const rawCapBytes = 4096;

/**
 * Limits for surveys, shorter than defaultLimits: connect 3 s covers a lost SYN's first
 * retransmission (Linux resends after 1 s, then 3 s); a device's banner or reply comes at once or
 * not at all, so 3 s to the first byte and 2 s of idle are plenty; 10 s in all is zgrab2's default
 * per-connection timeout; 256 KiB holds a device web page with its favicon while bounding memory
 * at concurrency × 256 KiB.
 */
export const grabLimits: ConnectionLimits = Object.freeze({
  connectTimeoutMs: 3_000,
  firstByteTimeoutMs: 3_000,
  idleTimeoutMs: 2_000,
  deadlineMs: 10_000,
  maxBytes: 256 * 1024,
});

/** Extra connections one module may open per grab (redirects, favicon). */
export const maxReconnects = 4;
/** Modules tried per endpoint at most. */
export const maxAttempts = 5;
/** Default whole time spent on one endpoint, across attempts (each attempt's deadline is clipped to what is left). */
export const endpointBudgetMs = 30_000;
/** Time a module gets past its connection's deadline before the runner gives up on it. */
const moduleGraceMs = 1_000;
/** Below this much budget left no further module is tried. */
const minAttemptMs = 250;
/** Error texts kept in observations are bounded. */
const maxErrorChars = 500;

/** Who is asked first whether first bytes are theirs (most specific first; telnet accepts a bare prompt). */
export const recognitionOrder: readonly string[] = ['ssh', 'ftp', 'http', 'rtsp', 'telnet'];
/**
 * First-bytes signatures for modules that have no recognise() of their own (a reply to another
 * module's request: "HTTP/1.1 400" answers anything sent to a web server).
 */
const signatures: Readonly<Record<string, RegExp>> = { http: /^HTTP\/\d/, rtsp: /^RTSP\/\d/ };

/** Client-first protocols tried, in order, when the peer sends nothing by itself. */
export const silentOrder: readonly string[] = ['http', 'https', 'rtsp', 'mqtt'];

/** One endpoint to grab. */
export interface GrabRequest {
  readonly scope: CompiledScope;
  readonly ip: string;
  readonly port: number;
  /** The plan's service for the port (src/pipeline/services.ts); absent or `unknown` = detect. */
  readonly service?: ServiceName;
  readonly endpointId?: number | null;
  readonly surveyId?: number | null;
  /** Per connection; grabLimits when absent. */
  readonly limits?: ConnectionLimits;
  readonly signal?: AbortSignal;
  /** Whole time for this endpoint across attempts; endpointBudgetMs when absent. */
  readonly budgetMs?: number;
}

/** A connection that keeps a copy of the first `cap` bytes its reads returned. */
function capturing(conn: Connection, cap: number): { readonly conn: Connection; raw(): Buffer } {
  const parts: Buffer[] = [];
  let kept = 0;
  const keep = async (p: Promise<ReadResult>): Promise<ReadResult> => {
    const r = await p;
    if (kept < cap && r.data.length > 0) {
      const piece = Buffer.from(r.data.subarray(0, cap - kept));
      parts.push(piece);
      kept += piece.length;
    }
    return r;
  };
  const wrapped: Connection = {
    get ip() {
      return conn.ip;
    },
    get port() {
      return conn.port;
    },
    get tls() {
      return conn.tls;
    },
    get bytesReceived() {
      return conn.bytesReceived;
    },
    write: (d) => conn.write(d),
    read: () => keep(conn.read()),
    readUntil: (take) => keep(conn.readUntil(take)),
    readBytes: (n) => keep(conn.readBytes(n)),
    close: () => conn.close(),
  };
  return { conn: wrapped, raw: () => Buffer.concat(parts) };
}

function bounded(s: string | undefined): string | undefined {
  return s === undefined ? undefined : s.length > maxErrorChars ? `${s.slice(0, maxErrorChars)}…` : s;
}

/**
 * Grab with one module (one attempt, one observation). grabEndpoint uses it for every attempt;
 * it is exported for tests and for a caller that already knows the protocol.
 */
export async function grabWith(req: GrabRequest, module: GrabModule, budgetMs = endpointBudgetMs): Promise<Observation> {
  const base = req.limits ?? grabLimits;
  const limits: ConnectionLimits = { ...base, deadlineMs: Math.max(1, Math.min(base.deadlineMs, budgetMs)) };
  const startedAt = new Date();
  const t0 = performance.now();
  const opened: Connection[] = [];
  let raw = (): Buffer => Buffer.alloc(0);
  let outcome: ModuleOutcome;
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  let finished = false;
  try {
    if (req.signal?.aborted) throw new Error('aborted');
    const open = await openConnection(req.scope, req.ip, req.port, limits, module.tls ? { tls: true } : {});
    if (open.status !== 'success') {
      outcome = { status: open.status, recognised: false, fields: {}, error: open.error };
    } else {
      opened.push(open.connection);
      const cap = capturing(open.connection, rawCapBytes);
      raw = cap.raw;
      let reconnects = 0;
      const ctx: GrabContext = {
        target: { ip: req.ip, port: req.port },
        limits,
        async reconnect(options): Promise<OpenResult> {
          // A module the runner gave up on may still be running: it gets nothing more.
          if (finished) return { status: 'unknown-error', error: 'the grab is over' };
          if (reconnects >= maxReconnects) return { status: 'unknown-error', error: `the module opened more than ${maxReconnects} extra connections` };
          reconnects++;
          const left = limits.deadlineMs - (performance.now() - t0);
          if (left <= 0) return { status: 'io-timeout', error: 'the grab deadline passed', limit: 'deadline' };
          const r = await openConnection(req.scope, req.ip, req.port, { ...limits, deadlineMs: left }, options?.tls ? { tls: options.tls } : {});
          if (r.status === 'success' && finished) {
            r.connection.close();
            return { status: 'unknown-error', error: 'the grab is over' };
          }
          if (r.status === 'success') opened.push(r.connection);
          return r;
        },
      };
      // The connection's deadline ends every read; this ends a module that waits on something else.
      const overdue = new Promise<ModuleOutcome>((resolve) => {
        timer = setTimeout(
          () => resolve({ status: 'io-timeout', recognised: false, fields: {}, error: `the ${module.name} module did not finish within its deadline` }),
          limits.deadlineMs + moduleGraceMs,
        );
        onAbort = () => resolve({ status: 'unknown-error', recognised: false, fields: {}, error: 'aborted' });
        req.signal?.addEventListener('abort', onAbort, { once: true });
      });
      outcome = await Promise.race([module.grab(cap.conn, ctx), overdue]);
    }
  } catch (e) {
    outcome = { status: 'unknown-error', recognised: false, fields: {}, error: errorText(e) };
  } finally {
    finished = true;
    clearTimeout(timer);
    if (onAbort) req.signal?.removeEventListener('abort', onAbort);
    for (const c of opened) c.close();
  }
  const error = bounded(outcome.error);
  return {
    kind: 'observation',
    surveyId: req.surveyId ?? null,
    endpointId: req.endpointId ?? null,
    ip: req.ip,
    port: req.port,
    module: module.name,
    status: outcome.status,
    recognised: outcome.recognised,
    fields: outcome.fields,
    raw: raw().toString('base64'),
    bytesReceived: opened.reduce((n, c) => n + c.bytesReceived, 0),
    ...(error !== undefined ? { error } : {}),
    observedAt: startedAt.toISOString(),
    durationMs: Math.round(performance.now() - t0),
    source: 'grab',
  };
}

/** Statuses that say nothing listens (or may be reached): no other module can do better. */
const unreachable: ReadonlySet<GrabStatus> = new Set(['connection-refused', 'connection-timeout', 'blocklisted-target']);

/** The module to try first: the plan's service's, else the port's usual one, else the first-bytes grab. */
function firstModule(req: GrabRequest): string {
  const byService = req.service ? moduleForService(req.service) : null;
  if (byService && grabModule(byService)) return byService;
  return moduleForPort(req.port) ?? 'generic';
}

/**
 * The next module after a mismatch, from the first bytes the peer sent (empty when it sent none);
 * null when there is nothing left worth trying. `registry` is grabModules but in tests.
 */
export function nextModule(firstBytes: Buffer, tried: ReadonlySet<string>, registry: Readonly<Record<string, GrabModule>> = grabModules): string | null {
  const lookup = (name: string): GrabModule | undefined => (Object.hasOwn(registry, name) ? registry[name] : undefined);
  const fresh = (name: string) => !tried.has(name) && lookup(name) !== undefined;
  if (firstBytes.length > 0) {
    const others = Object.keys(registry).filter((n) => !recognitionOrder.includes(n));
    for (const name of [...recognitionOrder, ...others]) {
      if (!fresh(name)) continue;
      const m = lookup(name);
      if (m?.recognise ? m.recognise(firstBytes) : signatures[name]?.test(firstBytes.subarray(0, 16).toString('latin1'))) return name;
    }
    return fresh('generic') ? 'generic' : null;
  }
  return silentOrder.find(fresh) ?? null;
}

/**
 * Grab one endpoint: every module tried, in order, one Observation each; the module that
 * recognised the peer's protocol last when one did. Bounded to maxAttempts modules and
 * endpointBudgetMs in all; never throws for anything the peer does.
 */
export async function grabEndpoint(req: GrabRequest): Promise<Observation[]> {
  const end = performance.now() + (req.budgetMs ?? endpointBudgetMs);
  const out: Observation[] = [];
  const tried = new Set<string>();
  let firstBytes = Buffer.alloc(0);
  let next: string | null = firstModule(req);
  while (next !== null && out.length < maxAttempts && !req.signal?.aborted) {
    const left = end - performance.now();
    if (left < minAttemptMs) break;
    const module = grabModule(next);
    tried.add(next);
    if (!module) break;
    const obs = await grabWith(req, module, left);
    out.push(obs);
    if (obs.recognised || unreachable.has(obs.status)) break;
    const raw = Buffer.from(obs.raw, 'base64');
    if (raw.length > 0) firstBytes = raw;
    // Two silent timeouts in a row: neither waiting nor a client-first request drew a byte. That
    // is a tarpit (or a binary protocol nothing here speaks); more modules would only wait more.
    const silent = (o: Observation | undefined) => o !== undefined && o.status === 'io-timeout' && o.bytesReceived === 0;
    if (silent(obs) && silent(out[out.length - 2])) break;
    next = nextModule(firstBytes, tried);
  }
  return out;
}

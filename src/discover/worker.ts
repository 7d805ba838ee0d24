/**
 * A discovery worker thread: walks its slice of the target permutation and connect-probes each
 * (address, port). Per-probe work is kept minimal (one permutation step, one binary search, one
 * raw TCP handle); results go to the parent in batches with a completion watermark for resume.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { isIotcleanError, type ErrorCode, type ErrorWhere } from '../core/errors.js';
import type { Ipv4Range } from '../core/ip.js';
import { chooseEngine, createProber, ProbeOutcome, type EngineChoice, type EngineRequest } from '../scope/guard.js';
import { indexRanges } from '../scope/range-index.js';
import { reviveScope, type Scope } from '../scope/scope.js';
import { createPermutation } from './permutation.js';

/**
 * Local resource exhaustion (EMFILE, ENOBUFS, no ephemeral port...) is usually our own concurrency:
 * while other probes are in flight, the target waits for one of them to finish and free its socket
 * (new targets wait too, so the effective concurrency shrinks to what the machine allows). With
 * nothing in flight, it is retried with exponential backoff from LOCAL_BACKOFF_MS, at most
 * MAX_LOCAL_RETRIES times (about 2.5 s in all), then given up and counted in localErrors.
 */
export const MAX_LOCAL_RETRIES = 8;
const LOCAL_BACKOFF_MS = 10;

/** What the parent hands a worker. */
export interface WorkerTask {
  /** The authorised scope as written (CompiledScope.spec); the worker recompiles it for the guard. */
  readonly scope: Scope;
  /** Addresses to probe (normalised ranges). They authorise nothing: the guard checks the scope. */
  readonly targetRanges: readonly Ipv4Range[];
  readonly ports: readonly number[];
  readonly seed: number;
  /** Size of the address × port index space. */
  readonly total: number;
  /** This worker visits positions offset, offset + stride, ... of the permutation. */
  readonly offset: number;
  readonly stride: number;
  /** Resume from this step (all steps before it are done). */
  readonly startStep: number;
  /** Probes per second for this worker; 0 = unlimited. */
  readonly rate: number;
  readonly concurrency: number;
  readonly timeoutMs: number;
  readonly retries: number;
  readonly engine: EngineRequest;
  readonly reportMs: number;
}

/** Worker → parent. `opens` is flattened (ip, port) pairs; `low` is the resume watermark. */
export interface WorkerReport {
  readonly type: 'report' | 'done';
  readonly opens: number[];
  readonly low: number;
  /** Targets completed since the last report. */
  readonly completed: number;
  /** Connection attempts that left this machine since the last report (retries included). */
  readonly sent: number;
  readonly timeouts: number;
  readonly denied: number;
  /** Targets the network or a firewall reports unreachable (no route, EACCES, ...); not retried. */
  readonly unreachable: number;
  /** Targets given up after MAX_LOCAL_RETRIES local failures (no ports or fds on this machine). */
  readonly localErrors: number;
  readonly engine: EngineChoice['engine'];
  readonly engineReason: string;
}

/** Worker → parent when it cannot start (e.g. --engine raw where it is unavailable): no probe was sent. */
export interface WorkerFatal {
  readonly type: 'fatal';
  readonly code: ErrorCode | undefined;
  readonly message: string;
  readonly where: ErrorWhere;
}

/** Number of steps a worker with this offset/stride takes over `total` positions. */
export function stepsFor(total: number, offset: number, stride: number): number {
  return offset < total ? Math.ceil((total - offset) / stride) : 0;
}

function run(task: WorkerTask, port: NonNullable<typeof parentPort>): void {
  const perm = createPermutation(task.total, task.seed);
  const targets = indexRanges(task.targetRanges);
  const scope = reviveScope(task.scope);
  const choice = chooseEngine(task.engine);
  const ports = task.ports;
  const portCount = ports.length;
  const endStep = stepsFor(task.total, task.offset, task.stride);

  const C = Math.max(1, task.concurrency);
  let ringSize = 1;
  while (ringSize < C * 4) ringSize <<= 1;
  const ringMask = ringSize - 1;
  const doneRing = new Uint8Array(ringSize);

  const slotStep = new Float64Array(C).fill(-1);
  const slotIp = new Uint32Array(C);
  const slotPort = new Uint16Array(C);
  const slotT0 = new Float64Array(C);
  const slotTries = new Uint8Array(C);
  const slotLocalErrors = new Uint8Array(C);
  const slotDue = new Float64Array(C);
  const freeSlots: number[] = [];
  for (let i = C - 1; i >= 0; i--) freeSlots.push(i);
  const retryQueue: number[] = [];
  /** Slots waiting out a local-error backoff until slotDue. */
  let backoff: number[] = [];
  /** Slots that met a local error while other probes were in flight: each completion frees one. */
  const waiting: number[] = [];
  /** Probes the prober holds (a callback will follow). */
  let inFlight = 0;

  let next = task.startStep;
  let low = task.startStep;
  let opens: number[] = [];
  let completed = 0;
  let sent = 0;
  let timeouts = 0;
  let denied = 0;
  let unreachable = 0;
  let localErrors = 0;
  let stopping = false;
  let finished = false;

  const rate = task.rate;
  const burst = Math.max(1, rate / 50);
  let tokens = rate > 0 ? 1 : Infinity;
  let lastRefill = performance.now();
  let wakeTimer: NodeJS.Timeout | undefined;

  const prober = createProber(scope, onResult, choice.engine);

  function complete(slot: number): void {
    const step = slotStep[slot]!;
    slotStep[slot] = -1;
    freeSlots.push(slot);
    completed++;
    doneRing[step & ringMask] = 1;
    while (low < next && doneRing[low & ringMask] === 1) {
      doneRing[low & ringMask] = 0;
      low++;
    }
    const resumed = waiting.shift(); // a socket was freed: one waiting target may have it
    if (resumed !== undefined) retryQueue.push(resumed);
  }

  function backOff(slot: number): boolean {
    const n = ++slotLocalErrors[slot]!;
    if (n > MAX_LOCAL_RETRIES || stopping) return false;
    slotT0[slot] = Infinity; // the timeout sweep ignores it while it waits
    slotDue[slot] = performance.now() + LOCAL_BACKOFF_MS * 2 ** (n - 1);
    backoff.push(slot);
    schedule(LOCAL_BACKOFF_MS * 2 ** (n - 1));
    return true;
  }

  function onResult(slot: number, outcome: ProbeOutcome, wasSent: boolean): void {
    inFlight--;
    if (!wasSent) sent--; // counted when issued; connect() failed before any packet left
    if (outcome === ProbeOutcome.LocalError && !stopping) {
      // Out of local resources: never call the target closed, never spin (see MAX_LOCAL_RETRIES).
      if (inFlight > 0) {
        slotT0[slot] = Infinity;
        waiting.push(slot);
        return;
      }
      // Nothing in flight will free anything: everyone waiting backs off (in parallel) instead.
      for (const w of waiting.splice(0)) if (!backOff(w)) giveUp(w);
      if (backOff(slot)) return;
      localErrors++;
    } else if (outcome === ProbeOutcome.Unreachable) {
      unreachable++;
    } else if (outcome === ProbeOutcome.Open) {
      opens.push(slotIp[slot]!, slotPort[slot]!);
    }
    complete(slot);
    pump();
  }

  function giveUp(slot: number): void {
    localErrors++;
    complete(slot);
  }

  /** Move slots whose backoff has passed to the retry queue; returns ms until the next is due. */
  function releaseBackoff(): number {
    if (backoff.length === 0) return Infinity;
    const now = performance.now();
    let wait = Infinity;
    const still: number[] = [];
    for (const slot of backoff) {
      const due = slotDue[slot]!;
      if (due <= now || stopping) retryQueue.push(slot);
      else {
        still.push(slot);
        wait = Math.min(wait, due - now);
      }
    }
    backoff = still;
    return wait;
  }

  /** Queue a slot to be sent again; the sweep ignores it until it is. */
  function queueRetry(slot: number): void {
    slotT0[slot] = Infinity;
    retryQueue.push(slot);
  }

  function send(slot: number): void {
    slotT0[slot] = performance.now();
    sent++;
    if (prober.probe(slot, slotIp[slot]!, slotPort[slot]!)) {
      inFlight++;
    } else {
      sent--; // the scope refused it: nothing left this machine
      denied++;
      complete(slot);
    }
  }

  function takeToken(): boolean {
    if (rate <= 0) return true;
    if (tokens < 1) {
      const now = performance.now();
      tokens = Math.min(burst, tokens + ((now - lastRefill) * rate) / 1000);
      lastRefill = now;
      if (tokens < 1) {
        schedule(Math.max(1, ((1 - tokens) * 1000) / rate));
        return false;
      }
    }
    tokens--;
    return true;
  }

  function schedule(ms: number): void {
    if (wakeTimer || finished) return;
    wakeTimer = setTimeout(() => {
      wakeTimer = undefined;
      pump();
    }, ms);
  }

  function pump(): void {
    if (finished) return;
    const wait = releaseBackoff();
    if (wait !== Infinity) schedule(Math.max(1, wait));
    while (retryQueue.length > 0 && !stopping) {
      if (!takeToken()) return;
      send(retryQueue.pop()!);
    }
    // New targets wait while earlier ones wait for local resources (they would take them first).
    const starved = waiting.length > 0 || backoff.length > 0;
    while (!starved && !stopping && freeSlots.length > 0 && next < endStep && next - low < ringSize) {
      if (!takeToken()) return;
      const slot = freeSlots.pop()!;
      const v = perm.at(task.offset + next * task.stride);
      const addrIndex = Math.floor(v / portCount);
      slotStep[slot] = next++;
      slotIp[slot] = targets.addressAt(addrIndex);
      slotPort[slot] = ports[v - addrIndex * portCount]!;
      slotTries[slot] = 0;
      slotLocalErrors[slot] = 0;
      send(slot);
    }
    if (freeSlots.length === C && (next >= endStep || stopping)) finish();
  }

  function sweep(): void {
    const now = performance.now();
    for (let slot = 0; slot < C; slot++) {
      if (slotStep[slot]! < 0 || now - slotT0[slot]! < task.timeoutMs) continue;
      prober.cancel(slot);
      inFlight--;
      if (slotTries[slot]! < task.retries && !stopping) {
        slotTries[slot]!++;
        queueRetry(slot);
      } else {
        timeouts++;
        complete(slot);
      }
    }
    pump();
  }

  function report(type: 'report' | 'done'): void {
    const msg: WorkerReport = {
      type,
      opens,
      low,
      completed,
      sent,
      timeouts,
      denied,
      unreachable,
      localErrors,
      engine: prober.engine,
      engineReason: choice.reason,
    };
    port.postMessage(msg);
    opens = [];
    completed = sent = timeouts = denied = unreachable = localErrors = 0;
  }

  function finish(): void {
    if (finished) return;
    finished = true;
    clearInterval(sweepTimer);
    clearInterval(reportTimer);
    if (wakeTimer) clearTimeout(wakeTimer);
    prober.close();
    report('done');
    port.close();
  }

  port.on('message', (msg: { type: string }) => {
    if (msg.type !== 'stop') return;
    // Graceful stop: abandon what is in flight; the watermark stays below it, so resume redoes it.
    stopping = true;
    for (let slot = 0; slot < C; slot++) if (slotStep[slot]! >= 0) prober.cancel(slot);
    finish();
  });

  const sweepTimer = setInterval(sweep, Math.max(10, Math.min(100, task.timeoutMs / 4)));
  const reportTimer = setInterval(() => report('report'), task.reportMs);
  pump();
}

function start(task: WorkerTask, port: NonNullable<typeof parentPort>): void {
  try {
    run(task, port);
  } catch (e) {
    // Refused before any probe (engine unavailable, bad scope): tell the parent as data, not a crash.
    const fatal: WorkerFatal = isIotcleanError(e)
      ? { type: 'fatal', code: e.code, message: e.message, where: { ...e.where } }
      : { type: 'fatal', code: undefined, message: e instanceof Error ? e.message : String(e), where: {} };
    port.postMessage(fatal);
    port.close();
  }
}

if (parentPort && workerData) start(workerData as WorkerTask, parentPort);

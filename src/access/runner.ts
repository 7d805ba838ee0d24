/**
 * The access runner: one host at a time per call, its services one after the other (one session
 * at a time per host, issue 7 item 7). For each service the endpoint asks a login for, the first
 * matching module of each auth type tries the dictionary in the order known for the identified
 * maker/model, stops at the first pair that works and re-checks it with a random pair: a host that
 * lets the random pair in too is `accepts-any` and never reported weak (item 6). A lock-out gets
 * one back-off and a retry from where it stopped; a host that locked on one service is not
 * hammered on its others. Every try becomes an audit record naming the dictionary entry id.
 */
import { randomBytes } from 'node:crypto';
import type { AccessAttemptRecord, AccessResult, Observation } from '../core/records.js';
import { defaultLimits, openConnection, type ConnectionLimits } from '../scope/connection.js';
import type { CompiledScope } from '../scope/scope.js';
import type { Dictionary } from './dictionary/dictionary.js';
import { orderFor, type OrderHint } from './dictionary/order.js';
import { accessModules, sameLogin } from './index.js';
import type { AccessContext, AccessModule, AccessTarget, Attempt, Credential, ModuleVerdict } from './module.js';

/** One address with what the earlier stages know of it. */
export interface AccessHost {
  readonly ip: string;
  /** Per open port: its stored endpoint id (or null) and what grab saw there. */
  readonly endpoints: readonly { readonly endpointId: number | null; readonly port: number; readonly observations: readonly Observation[] }[];
  /** The host-level identification (maker, model, type), or null when unknown. */
  readonly hint: OrderHint | null;
}

export interface AccessRunOptions {
  readonly scope: CompiledScope;
  readonly dictionary: Dictionary;
  readonly surveyId: number | null;
  readonly planDigest: string | null;
  readonly planVersion: string | null;
  /** Pause between two tries on one host, ms. */
  readonly pauseMs: number;
  /**
   * Tries per host at most, over all its services (control pairs not counted), shared fairly: each
   * service may use what is left divided by the services still to check.
   */
  readonly maxAttemptsPerHost: number;
  /** Wait after a lock-out before one more go; 0 = report locked-out at once. */
  readonly lockoutBackoffMs: number;
  /** Sessions a module may hold at once on one host (default 1). */
  readonly sessions?: number;
  readonly limits?: ConnectionLimits;
  readonly modules?: readonly AccessModule[];
  readonly signal?: AbortSignal;
  /** Services already checked, as `ip:port:protocol` (a resumed run skips them). */
  readonly skip?: ReadonlySet<string>;
  /** Random bytes for the control pairs (tests pass a seeded source). */
  readonly random?: (n: number) => Buffer;
}

/** One service's outcome with the attempts that led to it. */
export interface ServiceOutcome {
  readonly result: AccessResult;
  readonly attempts: readonly AccessAttemptRecord[];
}

/** A pair nobody would choose: if it logs in, the host accepts anything. */
export function controlCredential(n: number, random: (n: number) => Buffer = randomBytes): Credential {
  const hex = (k: number) => random(k).toString('hex');
  return { id: `control:${n}`, username: `u${hex(5)}`, password: `p${hex(8)}` };
}

/** Abortable wait; resolves early (not rejects) when the run is aborted. */
function wait(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Check every service of one host that asks for a login; results in the order tried. */
export async function checkHost(host: AccessHost, options: AccessRunOptions): Promise<ServiceOutcome[]> {
  const modules = options.modules ?? accessModules;
  const limits = options.limits ?? defaultLimits;
  const dictionary = options.dictionary;
  const outcomes: ServiceOutcome[] = [];
  let budget = options.maxAttemptsPerHost;
  let controls = 0;
  /** Set once a service of this host ended locked-out: the device may count failures across services. */
  let lockedOn: string | undefined;

  // The services to check, decided first, so the host's budget is shared fairly among them.
  const services: { endpoint: AccessHost['endpoints'][number]; target: AccessTarget; module: AccessModule }[] = [];
  for (const endpoint of host.endpoints) {
    const target: AccessTarget = { ip: host.ip, port: endpoint.port, observations: endpoint.observations };
    const skip = new Set<string>();
    for (const module of modules) {
      if (skip.has(module.protocol)) continue;
      let applies: boolean;
      try {
        applies = module.applies(target);
      } catch {
        applies = false;
      }
      if (!applies) continue;
      for (const p of sameLogin[module.protocol] ?? []) skip.add(p);
      if (options.skip?.has(`${host.ip}:${endpoint.port}:${module.protocol}`)) continue;
      services.push({ endpoint, target, module });
    }
  }

  for (const [index, { endpoint, target, module }] of services.entries()) {
    if (options.signal?.aborted) return outcomes;
    const startedAt = new Date().toISOString();
    const audit: AccessAttemptRecord[] = [];
    const ctx: AccessContext = {
      scope: options.scope,
      limits,
      pauseMs: options.pauseMs,
      ...(options.sessions !== undefined ? { sessions: options.sessions } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      open: (o) => openConnection(options.scope, host.ip, endpoint.port, limits, o ?? {}),
    };
    const log = (attempts: readonly Attempt[]) => {
      for (const a of attempts) {
        audit.push({
          kind: 'access-attempt',
          surveyId: options.surveyId,
          ip: host.ip,
          port: endpoint.port,
          protocol: module.protocol,
          entry: a.entry,
          username: a.username,
          outcome: a.outcome,
          at: a.startedAt,
          durationMs: Math.max(0, a.durationMs),
          detail: a.detail ?? null,
          planVersion: options.planVersion,
        });
      }
    };
    const run = async (list: readonly Credential[]): Promise<ModuleVerdict> => {
      try {
        const v = await module.run(target, list, ctx);
        log(v.attempts);
        return v;
      } catch (e) {
        return { verdict: 'error', entry: null, attempts: [], reason: `the ${module.protocol} module failed: ${e instanceof Error ? e.message : String(e)}` };
      }
    };
    const finish = (verdict: AccessResult['verdict'], entry: string | null, reason: string | null) => {
      const username = entry === null ? null : (dictionary.entries.find((e) => e.id === entry)?.username ?? null);
      outcomes.push({
        result: {
          kind: 'access-result',
          surveyId: options.surveyId,
          endpointId: endpoint.endpointId,
          ip: host.ip,
          port: endpoint.port,
          protocol: module.protocol,
          verdict,
          entry,
          username,
          reason,
          attempts: audit.length,
          planDigest: options.planDigest,
          planVersion: options.planVersion,
          dictionary: { name: dictionary.name, version: dictionary.version, digest: dictionary.digest },
          startedAt,
          finishedAt: new Date().toISOString(),
        },
        attempts: audit,
      });
    };

    if (lockedOn !== undefined && options.lockoutBackoffMs <= 0) {
      finish('locked-out', null, `not tried: the host refused every login on ${lockedOn} (lock-out)`);
      continue;
    }
    if (lockedOn !== undefined) await wait(options.lockoutBackoffMs, options.signal);
    if (budget <= 0) {
      finish('error', null, `not tried: the host's budget of ${options.maxAttemptsPerHost} tries is spent`);
      continue;
    }
    // A fair share of what is left, so a strong first service cannot starve the others.
    const share = Math.ceil(budget / (services.length - index));
    let list = orderFor(dictionary, host.hint, { protocol: module.protocol }).slice(0, share);
    let verdict = await run(list);
    let backedOff = false;
    // A lock-out: leave the host alone for the back-off, then go on from the entry it refused.
    while (verdict.verdict === 'locked-out' && !backedOff && options.lockoutBackoffMs > 0 && !options.signal?.aborted) {
      backedOff = true;
      const tried = new Set(verdict.attempts.filter((a) => a.outcome !== 'locked-out').map((a) => a.entry));
      budget -= tried.size;
      list = list.filter((c) => !tried.has(c.id));
      if (list.length === 0) break;
      await wait(options.lockoutBackoffMs, options.signal);
      verdict = await run(list);
    }
    budget -= new Set(verdict.attempts.filter((a) => !a.entry.startsWith('control:') && a.outcome !== 'locked-out').map((a) => a.entry)).size;

    if (verdict.controlAccepted) {
      finish('accepts-any', null, verdict.reason ?? 'a random pair got the same answer as a login');
      continue;
    }
    if (verdict.verdict === 'weak-credential') {
      const entry = verdict.entry;
      if (entry === null || !list.some((c) => c.id === entry)) {
        finish('error', null, `the ${module.protocol} module reported a login with no entry of the list (${String(entry)})`);
        continue;
      }
      await wait(options.pauseMs, options.signal);
      const recheck = await run([controlCredential(++controls, options.random)]);
      if (recheck.verdict === 'weak-credential' || recheck.controlAccepted) finish('accepts-any', null, `a random pair logged in too after ${entry} did`);
      else if (recheck.verdict === 'no-weak-credential') finish('weak-credential', entry, null);
      // Unsure whether the host takes anything: never a weak report without the control refused.
      else finish('error', null, `${entry} logged in, but the random-pair re-check ended ${recheck.verdict}${recheck.reason ? ` (${recheck.reason})` : ''}`);
      continue;
    }
    if (verdict.verdict === 'locked-out') lockedOn = `${module.protocol}/${endpoint.port}`;
    finish(verdict.verdict, null, verdict.reason ?? null);
  }
  return outcomes;
}

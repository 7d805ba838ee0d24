/**
 * The one shape of a weak-credential ("specific access") module, one per auth type. The runner
 * (runner.ts, to come) picks modules from an endpoint's observations, orders the dictionary,
 * enforces politeness (one session per host, pauses, stop at first success), re-checks a success
 * with a random pair (accepts-any) and writes the audit; a module only speaks its auth protocol
 * over guarded connections it opens through the context. It logs in, recognises success and logs
 * out: it runs no command and changes nothing.
 */
import type { AccessProtocol, AccessVerdict, AttemptOutcome, Observation } from '../core/records.js';
import type { CompiledScope } from '../scope/scope.js';
import type { ConnectionLimits, OpenResult, TlsRequest } from '../scope/connection.js';

export type { AccessProtocol, AccessVerdict, AttemptOutcome };

/** One dictionary entry: a stable id (reports name it, never the password) and the pair. */
export interface Credential {
  readonly id: string;
  readonly username: string;
  readonly password: string;
}

/** One try, for the audit (plan version and time are added by the runner). */
export interface Attempt {
  readonly entry: string;
  readonly username: string;
  readonly outcome: AttemptOutcome;
  readonly startedAt: string;
  readonly durationMs: number;
  /** Why, in a few words ("login re-prompt", "401 for the control pair too", "EOF after password"). */
  readonly detail?: string;
}

/** What a module says about one service after trying a list. */
export interface ModuleVerdict {
  /** weak-credential when a pair worked; accepts-any is decided by the runner's re-check. */
  readonly verdict: Exclude<AccessVerdict, 'accepts-any'>;
  /** The entry that worked, else null. */
  readonly entry: string | null;
  readonly attempts: readonly Attempt[];
  readonly reason?: string;
  /**
   * Set when the module's own random control pair got what a login looks like (HTTP: a 2xx after
   * the 401 challenge) and no entry's answer differed from it: the host accepts any pair or answers
   * every pair alike, so nothing can be reported weak; the runner reports accepts-any. A runner's
   * re-check after a success reads `verdict` only.
   */
  readonly controlAccepted?: boolean;
}

export interface AccessTarget {
  readonly ip: string;
  readonly port: number;
  /** What the grab stage saw at this endpoint (the recognised observation last). */
  readonly observations: readonly Observation[];
}

export interface AccessContext {
  readonly scope: CompiledScope;
  readonly limits: ConnectionLimits;
  /** A guarded connection to the target (modules never dial anything else). */
  open(options?: { readonly tls?: boolean | TlsRequest }): Promise<OpenResult>;
  /** Pause between tries on one host (politeness), ms. */
  readonly pauseMs: number;
  /** Sessions a module may hold open at once on this host (default 1: one at a time). */
  readonly sessions?: number;
  readonly signal?: AbortSignal;
}

export interface AccessModule {
  readonly protocol: AccessProtocol;
  readonly description: string;
  /** Whether the endpoint asks for this kind of login (from its observations). */
  applies(target: AccessTarget): boolean;
  /** Try the credentials in order, stopping at the first that works. */
  run(target: AccessTarget, credentials: readonly Credential[], ctx: AccessContext): Promise<ModuleVerdict>;
}

/**
 * The access repository: one result per service checked (survey, address, port, auth type) and
 * the audit of every try. Records are validated (src/core/schemas.ts) before anything is written.
 * Passwords are never stored here: results and attempts name the dictionary entry id.
 */
import type { AccessAttemptRecord, AccessResult, AccessVerdict } from '../core/records.js';

export interface AccessRepository {
  /**
   * Write one service's result with the attempts that led to it, in one transaction. A result
   * already stored for the same (survey, ip, port, protocol) is replaced (a re-run decides
   * anew); attempts are only ever added, so the audit keeps every try. Returns the result's id.
   */
  record(result: AccessResult, attempts: readonly AccessAttemptRecord[]): Promise<number>;
  /** A survey's results by address, port, protocol (keyset pages), optionally one verdict only. */
  list(surveyId: number, options?: { readonly verdict?: AccessVerdict; readonly pageSize?: number }): AsyncIterable<AccessResult>;
  /** A survey's attempts in the order made (by id), optionally for one address (and port). */
  attempts(surveyId: number, options?: { readonly ip?: string; readonly port?: number; readonly pageSize?: number }): AsyncIterable<AccessAttemptRecord>;
  /** Results per verdict or per protocol. */
  countBy(surveyId: number, by: 'verdict' | 'protocol'): Promise<Map<string, number>>;
  /** Services of a survey with a stored result, as `ip:port:protocol` (what a resumed run skips). */
  checked(surveyId: number): Promise<Set<string>>;
}

/**
 * The findings repository's contract (implemented in src/store/findings.ts): notify, isp, web and
 * the CLI read findings only through it.
 */
import type { Finding, FindingKind } from '../core/records.js';

export interface FindingFilter {
  readonly kind?: FindingKind;
  /** The ISP notified (effective ISP); `null` lists held findings. */
  readonly isp?: string | null;
  readonly surveyId?: number;
  readonly period?: string;
  /** Findings with id greater than this (keyset paging, batches "since last"). */
  readonly afterId?: number;
}

export interface FindingRepository {
  /**
   * Validate and store findings; one per (kind, ip, port, period): a finding already stored for
   * the key is kept and its evidence extended (first observedAt wins). Returns ids in input order.
   */
  record(findings: readonly Finding[]): Promise<number[]>;
  list(filter?: FindingFilter, options?: { readonly pageSize?: number }): AsyncIterable<Finding>;
  get(id: number): Promise<Finding | undefined>;
  /** Counts per kind, ISP (null for held) or hold reason. */
  countBy(by: 'kind' | 'isp' | 'held', filter?: FindingFilter): Promise<Map<string | null, number>>;
}

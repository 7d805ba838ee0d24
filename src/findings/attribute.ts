/**
 * Attribution: which ISP is notified of a finding. The address's prefix owner comes from the
 * longest-prefix match of the ISP table; the ISP notified is the owner if it participates, else
 * the first participating wholesale parent up its chain (src/scope/isp.ts effectiveIsp). When no
 * one can be notified the finding is held, with the reason:
 * - `no-isp`: no prefix of the table covers the address;
 * - `not-participating`: the owner does not take part and resells no one's lines;
 * - `resold-no-participant`: the owner resells a parent's lines and no ISP up the chain takes part.
 * Held findings are stored and counted (countBy 'held'), never sent.
 */
import type { Finding, HoldReason } from '../core/records.js';
import type { IspTable } from '../scope/isp.js';

/** The attribution fields of a finding. */
export interface Attribution {
  readonly isp: string | null;
  readonly prefixOwner: string | null;
  readonly held: HoldReason | null;
}

/** Who is notified for an address (see the module comment). */
export function attributionOf(ip: string, table: IspTable): Attribution {
  const owner = table.lookupText(ip);
  if (!owner) return { isp: null, prefixOwner: null, held: 'no-isp' };
  const notified = table.effectiveIsp(owner);
  if (notified) return { isp: notified.id, prefixOwner: owner.id, held: null };
  return { isp: null, prefixOwner: owner.id, held: owner.parent === undefined ? 'not-participating' : 'resold-no-participant' };
}

/** The finding with its attribution set (a new record; the input is not changed). */
export function attribute(f: Finding, table: IspTable): Finding {
  return { ...f, ...attributionOf(f.ip, table) };
}

/** Every finding attributed, in order. */
export function attributeAll(findings: readonly Finding[], table: IspTable): Finding[] {
  return findings.map((f) => attribute(f, table));
}

/**
 * The order a dictionary is tried in for one device: pairs known for the identified model first,
 * then those known for its maker, then those common on its device type, then the rest, each group
 * in file order (issue 7 item 5). Devices mostly keep their maker's default, so this finds a weak
 * pair in a few tries and keeps the number of failed logins a device sees small.
 */
import type { DeviceType } from '../../core/records.js';
import { modelKey, vendorKey } from '../../identify/names.js';
import type { AccessProtocol } from '../module.js';
import type { Dictionary, DictionaryEntry } from './dictionary.js';

/** What identify said about the device (any part may be unknown). */
export interface OrderHint {
  readonly vendor: string | null;
  readonly product: string | null;
  readonly type: DeviceType | string | null;
}

export interface OrderOptions {
  /** Leave out entries restricted to other protocols (an entry without `protocols` always stays). */
  readonly protocol?: AccessProtocol;
}

/** Whether an entry's model pattern names this product ("DS-2CD*" matches a series). */
function modelMatches(pattern: string, product: string): boolean {
  const star = pattern.endsWith('*');
  const p = modelKey(star ? pattern.slice(0, -1) : pattern);
  const m = modelKey(product);
  if (!p || !m) return false;
  return star ? m.startsWith(p) : m === p;
}

/** 0 = model, 1 = vendor, 2 = type, 3 = the rest. */
function tierOf(e: DictionaryEntry, hint: OrderHint | null): number {
  if (!hint) return 3;
  const v = vendorKey(hint.vendor);
  const vendorHit = v !== '' && e.vendors.some((x) => vendorKey(x) === v);
  // A model name only counts for the entry's own makers (two makers may reuse a model number),
  // unless identify knew no maker or the entry names none.
  const product = hint.product;
  if (product && (vendorHit || v === '' || e.vendors.length === 0) && e.models.some((p) => modelMatches(p, product))) return 0;
  if (vendorHit) return 1;
  if (hint.type && (e.types as readonly string[]).includes(hint.type)) return 2;
  return 3;
}

/**
 * The dictionary's entries in the order to try them for a device: model, then vendor, then type,
 * then the rest, each group in file order. Stable and deterministic; `null` keeps file order.
 */
export function orderFor(dictionary: Pick<Dictionary, 'entries'>, identification: OrderHint | null, options: OrderOptions = {}): readonly DictionaryEntry[] {
  const { protocol } = options;
  const tiers: DictionaryEntry[][] = [[], [], [], []];
  for (const e of dictionary.entries) {
    if (protocol !== undefined && e.protocols.length > 0 && !e.protocols.includes(protocol)) continue;
    tiers[tierOf(e, identification)]?.push(e);
  }
  return Object.freeze(tiers.flat());
}

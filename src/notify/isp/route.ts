/**
 * Routing a matched case to the measure that fits (issue 9): a device the ISP rents out and
 * manages itself becomes a task for its own operations (fixed remotely, the subscriber not asked);
 * a corporate line whose devices an SIer manages becomes a notice to that SIer; everything else a
 * subscriber alert. The inventory lists entries by subscriber or by MAC.
 */
import type { IspMatch } from './match.js';
import type { InventoryEntry, Measure } from './types.js';

/** The inventory, keyed for lookup. */
export interface Inventory {
  readonly bySubscriber: ReadonlyMap<string, InventoryEntry>;
  readonly byMac: ReadonlyMap<string, InventoryEntry>;
}

/** Index inventory entries (a later entry for the same key wins, as a later file line would). */
export function inventoryOf(entries: Iterable<InventoryEntry>): Inventory {
  const bySubscriber = new Map<string, InventoryEntry>();
  const byMac = new Map<string, InventoryEntry>();
  for (const e of entries) {
    if (e.mac !== null) byMac.set(e.mac, e);
    if (e.subscriber !== null) bySubscriber.set(e.subscriber, e);
  }
  return { bySubscriber, byMac };
}

export interface Route {
  readonly measure: Measure;
  /** Ops queue or SIer contact for isp-task / sier-notice; null for a subscriber alert. */
  readonly contact: string | null;
  /** The inventory entry that decided it. */
  readonly entry: InventoryEntry | null;
  readonly why: string;
}

const sameModel = (a: string, b: string): boolean => a.trim().toLowerCase().replace(/[\s_-]+/g, '') === b.trim().toLowerCase().replace(/[\s_-]+/g, '');

/**
 * The measure for a matched finding, or null when it is not matched (no one to route to). A MAC
 * entry names the very device; a subscriber entry for a rented device applies unless the finding
 * names another model (the subscriber's own camera behind the rented router is theirs to fix); a
 * subscriber entry for an SIer-managed line applies to every device on it.
 */
export function routeMatch(m: IspMatch, inventory: Inventory): Route | null {
  if (m.status !== 'matched' || m.subscriber === null) return null;
  const byMac = m.mac !== null ? inventory.byMac.get(m.mac) : undefined;
  if (byMac) return { measure: byMac.measure, contact: byMac.contact, entry: byMac, why: `inventory lists MAC ${m.mac}` };
  const bySub = inventory.bySubscriber.get(m.subscriber);
  if (bySub) {
    const model = m.finding.device.model;
    if (bySub.measure === 'sier-notice') return { measure: 'sier-notice', contact: bySub.contact, entry: bySub, why: `line of ${m.subscriber} is managed by an SIer` };
    if (bySub.model === null || model === null || sameModel(bySub.model, model)) return { measure: 'isp-task', contact: bySub.contact, entry: bySub, why: `${m.subscriber} rents ${bySub.model ?? 'a device'} from the ISP` };
    return { measure: 'subscriber-alert', contact: null, entry: null, why: `${m.subscriber} rents ${bySub.model}, but the finding is on a ${model}` };
  }
  return { measure: 'subscriber-alert', contact: null, entry: null, why: 'not in the inventory' };
}

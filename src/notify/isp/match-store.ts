/**
 * The ISP side's matching step over its store: findings in, each matched to a subscriber and
 * routed to a measure. What `iotclean isp match` prints and what cases are opened from.
 */
import type { Finding } from '../../core/records.js';
import type { Store } from '../../store/store.js';
import { matchFinding, type IspMatch } from './match.js';
import { inventoryOf, routeMatch, type Route } from './route.js';

/** A match with its route (null unless matched) and the ticket of the batch it came in. */
export type RoutedMatch = IspMatch & { readonly route: Route | null; readonly ticket: string | null };

/** Match and route findings against everything stored (sessions, subscriber keys, inventory). */
export async function matchAndRoute(store: Store, findings: Iterable<{ readonly finding: Finding; readonly ticket: string | null }>): Promise<RoutedMatch[]> {
  const [index, keys, inventory] = await Promise.all([store.sessions.index(), store.sessions.subscriberKeys(), store.sessions.inventory()]);
  const inv = inventoryOf(inventory);
  const out: RoutedMatch[] = [];
  for (const { finding, ticket } of findings) {
    const m = matchFinding(index, finding, keys);
    out.push({ ...m, route: routeMatch(m, inv), ticket });
  }
  return out;
}

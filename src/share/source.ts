/**
 * Where `share export` and `share serve` read candidates when no --candidates file is given: the
 * flows stage's repository (store.flows), with each candidate's liveness history. An expired
 * candidate is valid until its last sign of life (or its first check, when it never answered),
 * so receivers stop using it too; an active one lets the builder derive its validity.
 */
import type { Store } from '../store/store.js';
import type { CandidateSource } from './types.js';

export function storeCandidateSource(store: Store): CandidateSource | undefined {
  return {
    async *list(filter) {
      for (const c of await store.flows.list()) {
        if (filter.minScore !== undefined && c.score < filter.minScore) continue;
        const latest = [c.lastSeen, c.lastCheckAt].filter((t): t is string => t !== null).sort().at(-1)!;
        if (filter.since !== undefined && latest < filter.since) continue;
        const liveness = await store.flows.history(c.id);
        yield {
          candidate: { kind: 'c2-candidate', ip: c.ip, port: c.port, proto: c.proto, score: c.score, firstSeen: c.firstSeen, lastSeen: c.lastSeen, clients: c.clients, knownBadClients: c.knownBadClients, evidence: c.evidence, window: c.window },
          liveness,
          validUntil: c.status === 'expired' ? (c.lastAliveAt ?? liveness[0]?.at ?? c.lastSeen) : null,
        };
      }
    },
  };
}

/**
 * Where `share export` and `share serve` read candidates when no --candidates file is given: the
 * flows stage's repository. That repository belongs to the flows work (part F2) and is wired here
 * at merge; until then this returns undefined and the commands ask for --candidates.
 */
import type { Store } from '../store/store.js';
import type { CandidateSource } from './types.js';

export function storeCandidateSource(_store: Store): CandidateSource | undefined {
  return undefined;
}

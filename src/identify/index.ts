/**
 * The identify stage: observations in, identifications out (per endpoint and per host). Rule
 * sources sit behind RuleSource (source.ts); iotclean's own rules are data (rules/*.yaml), the
 * device-model catalogue too (catalogue/*.yaml); the engine (engine.ts) combines them.
 */
import type { Identification, Observation } from '../core/records.js';
import type { Identifier } from './engine.js';

export { createIdentifier, type Identifier, type IdentifierOptions, type MergedHost } from './engine.js';
export { loadIdentifier, type IdentifierLoadReport, type LoadIdentifierOptions } from './load.js';
export { loadOwnRules, compileOwnRules, type OwnRuleSet } from './own-rules.js';
export { loadCatalogue, compileCatalogue, emptyCatalogue, type Catalogue } from './catalogue.js';
export { inputsOf, inputKeys, type InputKey } from './inputs.js';
export { formatCpe23, toCpe23, bindCpeValue, type CpeAttributes, type CpePart } from './cpe.js';
export { deviceTypeOf } from './device-types.js';
export type { IdentifyInput, RuleMatch, RuleParams, RuleSource } from './source.js';

/** Identifications of a batch of observations: one row per endpoint and one per host. */
export interface StageIdentifications {
  /** Host rows (port null), one per ip, in the order the ips first appear. */
  readonly hosts: Identification[];
  /** Endpoint rows, one per endpoint (endpointId, else ip:port), with their host's device. */
  readonly endpoints: Identification[];
}

/**
 * Run identification over observations: group them by endpoint (every module tried there), identify
 * each endpoint, then merge each host's endpoints. A batch should hold all of a host's observations
 * for the host row to see every port.
 */
export function identifyObservations(identifier: Identifier, observations: readonly Observation[]): StageIdentifications {
  const byEndpoint = new Map<string, Observation[]>();
  for (const o of observations) {
    const key = o.endpointId !== null ? `#${o.endpointId}` : `${o.ip}:${o.port}`;
    const list = byEndpoint.get(key);
    if (list) list.push(o);
    else byEndpoint.set(key, [o]);
  }
  const byHost = new Map<string, Identification[]>();
  for (const list of byEndpoint.values()) {
    const id = identifier.identifyEndpoint(list);
    const rows = byHost.get(id.ip);
    if (rows) rows.push(id);
    else byHost.set(id.ip, [id]);
  }
  const hosts: Identification[] = [];
  const endpoints: Identification[] = [];
  for (const rows of byHost.values()) {
    const merged = identifier.mergeHost(rows);
    hosts.push(merged.host);
    endpoints.push(...merged.endpoints);
  }
  return { hosts, endpoints };
}

/**
 * The other stages' entry points the pipeline calls, in one place: the grab runner, the identify
 * engine and Recog's locator. The pipeline codes against the narrow shapes below (what it calls
 * and nothing more), so a test can hand a stage a recording function instead.
 */
import type { Identification, Observation } from '../core/records.js';
import type { ConnectionLimits } from '../scope/connection.js';
import type { CompiledScope } from '../scope/scope.js';
import type { ServiceName } from './services.js';

export { grabEndpoint } from '../grab/runner.js';
export { loadIdentifier } from '../identify/load.js';
export { findRecogDir } from '../identify/recog/locate.js';

/** What the grab stage asks the runner for: one endpoint, every module tried. */
export interface GrabRequest {
  readonly scope: CompiledScope;
  readonly ip: string;
  readonly port: number;
  readonly service?: ServiceName;
  readonly endpointId?: number | null;
  readonly surveyId?: number | null;
  readonly limits?: ConnectionLimits;
  readonly signal?: AbortSignal;
}

/** What the identify stage uses of the engine. */
export interface Identifier {
  identifyEndpoint(observations: readonly Observation[]): Identification;
  mergeHost(endpoints: readonly Identification[]): { readonly host: Identification; readonly endpoints: readonly Identification[] };
}

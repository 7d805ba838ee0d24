/**
 * The other stages' entry points the pipeline calls, in one place: the grab runner, the identify
 * engine, Recog's locator, and the access runner with its dictionary loader. The pipeline codes against the narrow shapes below (what it calls
 * and nothing more, taken from the stages' own types), so a test can hand a stage a recording
 * function instead.
 */
import type { Identifier as EngineIdentifier } from '../identify/engine.js';

export { grabEndpoint } from '../grab/runner.js';
export { loadIdentifier } from '../identify/load.js';
export { findRecogDir } from '../identify/recog/locate.js';

/** What the grab stage asks the runner for: one endpoint, every module tried. */
export type { GrabRequest } from '../grab/runner.js';

/** What the identify stage uses of the engine. */
export type Identifier = Pick<EngineIdentifier, 'identifyEndpoint' | 'mergeHost'>;

export { checkHost as checkAccessHost, type AccessHost } from '../access/runner.js';
export { loadPlanDictionary as loadAccessDictionary } from '../access/dictionary/plan-dictionary.js';
/** The ID/password list the access stage tries. */
export type { Dictionary as AccessDictionary } from '../access/dictionary/dictionary.js';

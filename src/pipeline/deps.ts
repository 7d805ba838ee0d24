/**
 * The other stages' entry points the pipeline calls, in one place: the grab runner, the identify
 * engine and Recog's locator. (Until they are merged, they come from ./_pending-stubs.ts.)
 */
export { grabEndpoint, loadIdentifier, findRecogDir, type GrabRequest, type Identifier } from './_pending-stubs.js';

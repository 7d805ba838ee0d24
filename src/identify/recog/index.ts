/**
 * Recog (rapid7/recog, BSD-2-Clause) fingerprints as an iotclean rule source, loaded from a
 * folder the operator names (never shipped): the XML reader (xml.ts), the Ruby → JavaScript regex
 * converter (regex.ts), the loader and its RuleSource (loader.ts), Recog's example check
 * (examples.ts) and the lookup of a local copy for tests and the demo (locate.ts).
 */
export { loadRecog, recogDefaultConfidence, recogKeyAliases, type RecogLoad, type RecogUnconverted, type RecogDatabaseSummary } from './loader.js';
export { runRecogExamples, type RecogExamplesReport, type RecogExampleFailure } from './examples.js';
export { findRecogDir, recogMissingMessage } from './locate.js';
export { convertRubyRegex, compileConverted, type RegexConversion, type ConvertedRegex, type UnconvertedRegex, type RubyOptions } from './regex.js';

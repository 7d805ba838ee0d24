/**
 * The ID/password dictionary (issue 7 item 5): the file format and loader, the built-in default
 * list (default.yaml: Mirai's table and public vendor defaults, each entry citing its source), and
 * the order entries are tried in for an identified device.
 */
export {
  accessProtocols,
  builtInDictionaries,
  builtInDictionaryPath,
  dictionaryDigest,
  dictionaryRef,
  isBuiltInDictionary,
  loadDictionary,
  maxDictionaryEntries,
  parseDictionary,
  type BuiltInDictionary,
  type Dictionary,
  type DictionaryEntry,
  type DictionaryRef,
  type DictionarySource,
} from './dictionary.js';
export { orderFor, type OrderHint, type OrderOptions } from './order.js';
export { loadPlanDictionary, resolveDictionaryPath, type PlanDictionaryRef } from './plan-dictionary.js';

/**
 * The dictionary a survey plan names (`access.dictionary`): the built-in list by name, or a file
 * relative to the plan file. The plan records the list's digest, so a plan approved with one list
 * cannot silently run with an edited one, and every result made under the plan names the exact
 * list through the plan digest.
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import { IotcleanError } from '../../core/errors.js';
import { builtInDictionaryPath, isBuiltInDictionary, loadDictionary, type Dictionary } from './dictionary.js';

/** The part of a plan's access block that names the list. */
export interface PlanDictionaryRef {
  /** "default" (built in) or a path to a .yaml file, relative to the plan file. */
  readonly dictionary: string;
  /** sha256 the list must have; filled in from the list when the plan does not pin it. */
  readonly dictionaryDigest?: string | undefined;
}

/** The file a plan's `dictionary:` value names; relative paths are taken from the plan's folder (else the working folder). */
export function resolveDictionaryPath(ref: string, planFile?: string): string {
  if (isBuiltInDictionary(ref)) return builtInDictionaryPath(ref);
  if (isAbsolute(ref)) return ref;
  return planFile === undefined ? resolve(ref) : resolve(dirname(planFile), ref);
}

/**
 * Load the list a plan names and check it against the plan's pinned digest, if any. Errors are
 * the dictionary's own (E_DICTIONARY_FILE) or, for a digest mismatch, E_PLAN_FILE on the plan.
 */
export async function loadPlanDictionary(ref: PlanDictionaryRef, planFile?: string): Promise<Dictionary> {
  const path = resolveDictionaryPath(ref.dictionary, planFile);
  const dict = await loadDictionary(path);
  if (ref.dictionaryDigest !== undefined && ref.dictionaryDigest !== dict.digest) {
    throw new IotcleanError('E_PLAN_FILE', `the dictionary "${ref.dictionary}" has changed since the plan pinned it (digest ${dict.digest.slice(0, 12)}…, plan says ${ref.dictionaryDigest.slice(0, 12)}…)`, {
      ...(planFile !== undefined ? { file: planFile } : {}),
      hint: `review the list's changes, then set access.dictionaryDigest to ${dict.digest} and bump the plan version`,
    });
  }
  return dict;
}

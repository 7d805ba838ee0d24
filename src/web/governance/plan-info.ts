/**
 * Turning proposed plan text into a stored proposal, and describing a stored plan's ID/password
 * list. Shared by the /ops/plans pages and `iotclean plan propose`.
 */
import { stat } from 'node:fs/promises';
import { builtInDictionaryPath, isBuiltInDictionary, loadDictionary } from '../../access/dictionary/dictionary.js';
import { IotcleanError } from '../../core/errors.js';
import { bindPlanDictionary, parsePlan, planDigest, type SurveyPlan } from '../../discover/plan.js';

/** Plan text larger than this is refused (plans/default.yaml is about 10 KB). */
export const maxPlanBytes = 256 * 1024;

/**
 * Validate plan YAML sent over the web with the plan loader. A built-in list is loaded (its
 * digest is bound into the plan, as `loadPlan` does); a list given as a file path is never read
 * on the server (a web form must not make it open files), so it must be pinned in the text.
 */
export async function planFromWebText(text: string): Promise<{ plan: SurveyPlan; digest: string }> {
  if (Buffer.byteLength(text, 'utf8') > maxPlanBytes) throw new IotcleanError('E_PLAN_FILE', `the plan is larger than ${maxPlanBytes / 1024} KB`, { hint: 'a plan is a short YAML file; see plans/default.yaml' });
  const parsed = parsePlan(text, 'proposed plan');
  if (parsed.access && !isBuiltInDictionary(parsed.access.dictionary) && parsed.access.dictionaryDigest === undefined) {
    throw new IotcleanError('E_PLAN_FILE', `access.dictionary "${parsed.access.dictionary}" is a file, which the web server does not read`, {
      hint: 'pin it with access.dictionaryDigest (iotclean plan FILE prints it), or propose the plan with iotclean plan propose FILE',
    });
  }
  const plan = parsed.access && isBuiltInDictionary(parsed.access.dictionary) ? await bindPlanDictionary(parsed) : parsed;
  return { plan, digest: planDigest(plan) };
}

export interface DictionaryInfo {
  readonly dictionary: string;
  readonly pinnedDigest: string | null;
  /** The list's own name and version and entry count, when it could be loaded and matches the pin. */
  readonly loaded: { readonly name: string; readonly version: string; readonly entries: number } | null;
  /** Why `loaded` is null. */
  readonly note: 'file' | 'changed' | 'unreadable' | null;
}

/** The plan's ID/password list: the built-in one is read (and checked against the pin); a file is only named. */
export async function dictionaryInfo(access: { dictionary: string; dictionaryDigest?: string | undefined }): Promise<DictionaryInfo> {
  const base = { dictionary: access.dictionary, pinnedDigest: access.dictionaryDigest ?? null };
  if (!isBuiltInDictionary(access.dictionary)) return { ...base, loaded: null, note: 'file' };
  try {
    const d = await cachedDictionary(builtInDictionaryPath(access.dictionary));
    if (access.dictionaryDigest !== undefined && access.dictionaryDigest !== d.digest) return { ...base, loaded: null, note: 'changed' };
    return { ...base, loaded: { name: d.name, version: d.version, entries: d.entries.length }, note: null };
  } catch {
    return { ...base, loaded: null, note: 'unreadable' };
  }
}

/** Parsing the built-in list takes about a second; a page reads it once per change of the file. */
const dictionaries = new Map<string, { mtimeMs: number; dict: Promise<{ name: string; version: string; digest: string; entries: readonly unknown[] }> }>();
async function cachedDictionary(path: string) {
  const { mtimeMs } = await stat(path);
  const hit = dictionaries.get(path);
  if (hit && hit.mtimeMs === mtimeMs) return hit.dict;
  const dict = loadDictionary(path);
  dictionaries.set(path, { mtimeMs, dict });
  dict.catch(() => dictionaries.delete(path));
  return dict;
}

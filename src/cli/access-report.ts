/**
 * What `survey` and `access` share about the weak ID/password check: its options, the plan and
 * list they resolve to, and how results are printed (one row per service; entry ids, never
 * passwords).
 */
import type { AccessResult } from '../core/records.js';
import { defaultPlanAccess, type SurveyPlan } from '../discover/plan.js';
import { loadAccessDictionary, type AccessDictionary } from '../pipeline/deps.js';
import type { Store } from '../store/store.js';
import type { OptionSpec } from './command.js';

/** The options `survey` shares with `access` to tune the check. */
export const accessOptions = {
  dictionary: { type: 'string', value: 'FILE', description: "ID/password list (.yaml) instead of the plan's (see src/access/dictionary/default.yaml for the format)" },
  sessions: { type: 'number', value: 'N', integer: true, min: 1, max: 16, description: 'sessions at once per host (default 1: one at a time, as NOTICE does)' },
  pause: { type: 'number', value: 'MS', integer: true, min: 0, max: 600_000, description: "pause between two tries on one host (default: the plan's access.pauseMs)" },
} as const satisfies Record<string, OptionSpec>;

/** One line of output per service: what scripts read (the issue's field names). */
export function accessRow(r: AccessResult) {
  return {
    ip: r.ip,
    port: r.port,
    protocol: r.protocol,
    verdict: r.verdict,
    entry: r.entry,
    username: r.username,
    reason: r.reason,
    attempts: r.attempts,
    surveyId: r.surveyId,
    planVersion: r.planVersion,
    dictionary: `${r.dictionary.name} ${r.dictionary.version}`,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
  };
}

export type AccessRow = ReturnType<typeof accessRow>;

export async function* rowsOf(results: AsyncIterable<AccessResult>): AsyncGenerator<AccessRow> {
  for await (const r of results) yield accessRow(r);
}

export function accessLine(r: AccessRow): string {
  const what = r.verdict === 'weak-credential' ? `${r.entry} (user ${JSON.stringify(r.username)})` : (r.reason ?? '');
  return `${`${r.ip}:${r.port}`.padEnd(21)} ${r.protocol.padEnd(11)} ${r.verdict.padEnd(18)} ${JSON.stringify(what).slice(1, -1).slice(0, 100)}  [${r.attempts} tries]`;
}

/** The plan with --dictionary and --pause applied, and the list it names, loaded and pinned. */
export async function accessPlan(plan: SurveyPlan, o: { readonly dictionary?: string | undefined; readonly pause?: number | undefined; readonly plan?: string | undefined }): Promise<{ plan: SurveyPlan; dictionary: AccessDictionary }> {
  const base = plan.access ?? defaultPlanAccess;
  const access = { ...base, ...(o.dictionary !== undefined ? { dictionary: o.dictionary, dictionaryDigest: undefined } : {}), ...(o.pause !== undefined ? { pauseMs: o.pause } : {}) };
  // --dictionary is relative to the working folder; the plan's own list to the plan file.
  const dictionary = await loadAccessDictionary(access, o.dictionary !== undefined ? undefined : o.plan);
  return { plan: { ...plan, access: { ...access, dictionaryDigest: dictionary.digest } }, dictionary };
}

/** Verdict counts as one line ("weak-credential 3, no-weak-credential 12"). */
export async function accessSummary(store: Store, surveyId: number): Promise<{ text: string; json: Record<string, unknown> }> {
  const byVerdict = Object.fromEntries(await store.access.countBy(surveyId, 'verdict'));
  const byProtocol = Object.fromEntries(await store.access.countBy(surveyId, 'protocol'));
  const parts = Object.entries(byVerdict).map(([v, n]) => `${v} ${n}`);
  return { text: `access (services checked): ${parts.length ? parts.join(', ') : 'none asked for a login'}`, json: { access: { byVerdict, byProtocol } } };
}


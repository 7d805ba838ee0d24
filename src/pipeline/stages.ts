/**
 * The stages a survey plan may name in `modules`, in pipeline order. A stage that is designed but
 * not built yet is listed as unavailable, so a plan asking for it is refused with a clear message
 * instead of silently running only the stages that exist. When a stage lands, flip `available`
 * here (one line); plan validation and the survey runner read this table and nothing else.
 */

export interface StageInfo {
  /** True once the stage can run; plans naming an unavailable stage are refused. */
  readonly available: boolean;
  readonly description: string;
}

/** Every stage name, in the order the pipeline runs them. */
export const stages = {
  discover: { available: true, description: 'TCP connect discovery of open ports' },
  grab: { available: true, description: 'banner grab per protocol module' },
  identify: { available: true, description: 'device identification from banners' },
  access: { available: true, description: 'weak ID/password check' },
  vuln: { available: true, description: 'known-vulnerability matching' },
} as const satisfies Record<string, StageInfo>;

export type StageName = keyof typeof stages;

/** Stage names in pipeline order. */
export const stageNames = Object.freeze(Object.keys(stages) as StageName[]);

export function isStageName(name: string): name is StageName {
  return Object.hasOwn(stages, name);
}

/** Names of the stages that can run today. */
export function availableStages(): StageName[] {
  return stageNames.filter((n) => stages[n].available);
}

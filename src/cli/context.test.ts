import { describe, expect, it } from 'vitest';
import { surveyPlanSchema } from '../discover/plan.js';
import { resolvePlan } from './context.js';

describe('resolvePlan --ports', () => {
  it('gives ports outside the plan a registered service, so the stored plan still validates on resume', async () => {
    const plan = await resolvePlan({ ports: '9999,8080,telnet' });
    expect(plan.ports.map((p) => [p.port, p.service])).toEqual([
      [9999, 'unknown'],
      [8080, plan.ports[1]!.service],
      [23, 'telnet'],
    ]);
    expect(plan.ports[1]!.service).not.toBe('8080');
    expect(surveyPlanSchema.safeParse(plan).success).toBe(true);
  });
});

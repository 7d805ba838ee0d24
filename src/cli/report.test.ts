import { describe, expect, it } from 'vitest';
import type { Endpoint } from '../core/records.js';
import type { SurveyOutcome, SurveyStart } from '../pipeline/survey.js';
import { countByPort, formatSurveyReport, surveyReport } from './report.js';

const ep = (ip: string, port: number): Endpoint => ({ kind: 'endpoint', ip, port, seenAt: '2026-11-22T00:00:00.000Z', source: 'connect' });
const stats = { completed: 100, sent: 120, open: 3, timeouts: 0, denied: 0, unreachable: 0, localErrors: 0, engineReason: 'raw TCP handle available', elapsedMs: 2000, rate: 60, engine: 'raw', interrupted: false, checkpoint: [50, 50] } as const;
const outcome: SurveyOutcome = { surveyId: 7, resumed: true, stats, status: 'done' };
const start: SurveyStart = { targets: [{ start: 0x7f000000, end: 0x7f0000ff }], ports: [40023, 80], shard: { index: 0, count: 1 }, doneBefore: 412, probesBefore: 400, elapsedMsBefore: 1000 };
// The lab moved device port 23 to 40023.
const portMap = new Map([[23, 40023]]);
const endpoints = [ep('127.0.0.1', 40023), ep('127.0.0.2', 40023), ep('127.0.0.2', 80)];

describe('surveyReport', () => {
  const r = surveyReport(outcome, start, endpoints, portMap);

  it('shows device ports, not the ports the lab bound them on', () => {
    expect(r.byPort).toEqual({ 23: 2, 80: 1 });
    expect(r.ports).toEqual([23, 80]);
    expect(formatSurveyReport(r)).toMatch(/^ {4} {3}23\/tcp {2}2$/m);
    expect(formatSurveyReport(r)).not.toContain('40023/tcp');
  });

  it('adds the probes and time of earlier runs of a resumed survey', () => {
    expect(r).toMatchObject({ probesSent: 520, probesSentThisRun: 120, elapsedMs: 3000, rate: 60, addresses: 256 });
    expect(formatSurveyReport(r)).toContain('probes sent 520 over all runs, 120 in this run');
  });

  it('counts per port in port order', () => {
    expect(Object.keys(countByPort([ep('127.0.0.1', 8080), ep('127.0.0.1', 22), ep('127.0.0.3', 8080)]))).toEqual(['22', '8080']);
  });
});

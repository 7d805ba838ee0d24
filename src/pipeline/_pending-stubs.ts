/**
 * TEMPORARY: minimal fakes of other engineers' modules (the grab runner, the identify engine and
 * Recog's locator) so the pipeline compiles and its plumbing can be tested before they land.
 * Deleted at merge; nothing imports this file except src/pipeline/deps.ts.
 */
import type { Identification, Observation } from '../core/records.js';
import type { GrabRequest, Identifier } from './deps.js';

/** Fake runner: one unrecognised generic observation, no traffic. */
export async function grabEndpoint(req: GrabRequest): Promise<Observation[]> {
  return [
    {
      kind: 'observation',
      surveyId: req.surveyId ?? null,
      endpointId: req.endpointId ?? null,
      ip: req.ip,
      port: req.port,
      module: 'generic',
      status: 'success',
      recognised: false,
      fields: { text: '', bytes: 0 },
      raw: '',
      bytesReceived: 0,
      observedAt: new Date().toISOString(),
      durationMs: 0,
      source: 'grab',
    },
  ];
}

function unknown(o: { surveyId: number | null; endpointId: number | null; ip: string; port: number | null; protocol: string | null }): Identification {
  return {
    kind: 'identification',
    ...o,
    type: null,
    vendor: null,
    product: null,
    version: null,
    device: null,
    os: null,
    service: null,
    cpe: [],
    confidence: 0,
    rule: null,
    rules: [],
    catalogue: null,
    identifiedAt: new Date().toISOString(),
  };
}

/** Fake engine: everything unknown. */
export async function loadIdentifier(_options: { recogDir?: string; rulesDir?: string; catalogueDir?: string } = {}): Promise<{ identifier: Identifier; report: unknown }> {
  return {
    identifier: {
      identifyEndpoint(obs) {
        const o = obs[0]!;
        return unknown({ surveyId: o.surveyId, endpointId: o.endpointId, ip: o.ip, port: o.port, protocol: obs.find((x) => x.recognised)?.module ?? null });
      },
      mergeHost(endpoints) {
        const e = endpoints[0]!;
        return { host: unknown({ surveyId: e.surveyId, endpointId: null, ip: e.ip, port: null, protocol: null }), endpoints: [...endpoints] };
      },
    },
    report: {},
  };
}

/** Fake locator: no Recog copy. */
export function findRecogDir(): string | undefined {
  return undefined;
}

/**
 * C&C detection over a window of the `flows` relation: endpoint features in SQL (./features.ts,
 * with the graph propagation of ./graph.ts among them), the learned model on top (./model.ts), and
 * for every endpoint at or above the threshold a C2Candidate with the evidence a human can check.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { formatIpv4, type Ipv4Range } from '../../core/ip.js';
import type { C2Candidate, CandidateEvidence } from '../types.js';
import { endpointFeatures, featureNames, featureVector, flowsExtent, loadKnownBad, COMMON_PORTS, type EndpointFeatures, type FeatureWindow } from './features.js';
import { builtinModel, contributions, predict, type C2Model } from './model.js';

export interface DetectOptions {
  /** Default: every flow in the relation. */
  readonly window?: FeatureWindow;
  /** The ISP's own (subscriber) address space: the internal side of the graph. */
  readonly internal: readonly Ipv4Range[];
  /** Internal addresses with weak-credential or infected findings. */
  readonly knownBad: readonly number[];
  readonly model?: C2Model;
  /** Report from this score (default: the model's threshold). */
  readonly minScore?: number;
}

export interface ScoredEndpoint {
  readonly features: EndpointFeatures;
  readonly x: readonly number[];
  readonly score: number;
}

export interface DetectResult {
  readonly window: FeatureWindow;
  readonly candidates: C2Candidate[];
  /** Every endpoint scored (≥2 internal clients), with its score: for evaluation and training. */
  readonly scored: ScoredEndpoint[];
  readonly threshold: number;
  readonly elapsedMs: number;
}

const iso = (ms: number) => new Date(ms).toISOString();
const r3 = (v: number) => Math.round(v * 1000) / 1000;

/** Run detection (see the module comment). Empty `flows` gives no candidates. */
export async function detectC2(conn: DuckDBConnection, o: DetectOptions): Promise<DetectResult> {
  const t0 = performance.now();
  const model = o.model ?? builtinModel();
  const threshold = o.minScore ?? model.threshold;
  const window = o.window ?? (await flowsExtent(conn)) ?? { fromMs: 0, toMs: 0 };
  if (window.toMs <= window.fromMs) return { window, candidates: [], scored: [], threshold, elapsedMs: performance.now() - t0 };
  await loadKnownBad(conn, o.knownBad);
  const feats = await endpointFeatures(conn, window, o.internal);
  const scored: ScoredEndpoint[] = feats.map((f) => {
    const x = featureVector(f, window);
    return { features: f, x, score: predict(model, x) };
  });
  const candidates = scored
    .filter((s) => s.score >= threshold)
    .sort((a, b) => b.score - a.score)
    .map((s) => toCandidate(s, model, window));
  return { window, candidates, scored, threshold, elapsedMs: performance.now() - t0 };
}

/** Words for the model's strongest reasons. */
const featureMeaning: Record<(typeof featureNames)[number], string> = {
  graph_share: 'bot share propagated from known bots',
  known_bad_share: 'share of clients that are known bad',
  log_known_bad_clients: 'known-bad clients',
  log_clients: 'clients',
  periodic_share: 'share of repeat clients that beacon',
  regularity: 'gap irregularity',
  repeat_share: 'share of clients that come back',
  log_flows_per_client: 'flows per client',
  log_bytes_per_flow: 'bytes per flow',
  log_packets_per_flow: 'packets per flow',
  size_cv: 'flow size variation',
  uncommon_port: 'uncommon port',
  log_port_servers: 'servers on this port',
  active_hours_share: 'hours active',
  seen_span_share: 'time seen',
  late_client_share: 'fan-in growth',
};

function toCandidate(s: ScoredEndpoint, model: C2Model, window: FeatureWindow): C2Candidate {
  const f = s.features;
  const ev: CandidateEvidence[] = [];
  ev.push({ feature: 'known_bad_clients', value: f.badClients, note: `${f.badClients} of ${f.clients} internal clients have weak-credential or infected findings (${((100 * f.badClients) / f.clients).toFixed(0)}%)` });
  ev.push({ feature: 'graph_bot_share', value: r3(f.graphShare), note: `propagated from known bots over the host↔endpoint graph: about ${(100 * f.graphShare).toFixed(0)}% of its clients look like bots (bot mass ${f.botMass.toFixed(1)})` });
  if (f.repeatClients) {
    ev.push({
      feature: 'periodic_clients',
      value: f.periodicClients,
      note: `${f.periodicClients} of ${f.repeatClients} repeat clients contact it at regular intervals (median period ${f.medianPeriodS === null ? '?' : Math.round(f.medianPeriodS)} s, gap coefficient of variation ${f.medianRegularity === null ? '?' : f.medianRegularity.toFixed(2)})`,
    });
  } else ev.push({ feature: 'periodic_clients', value: 0, note: 'no client contacted it 4 times or more in the window' });
  ev.push({ feature: 'flow_size_cv', value: r3(f.sizeCv), note: `flows of ${Math.round(f.bytesPerFlow)} bytes and ${f.packetsPerFlow.toFixed(1)} packets on average, size coefficient of variation ${f.sizeCv.toFixed(2)} (small and uniform is beacon-like)` });
  ev.push({ feature: 'uncommon_port', value: COMMON_PORTS.has(f.port) ? 0 : 1, note: `port ${f.port} is ${COMMON_PORTS.has(f.port) ? 'a common service port' : 'not a common service port'}; ${f.portServers} outside server(s) seen on it` });
  ev.push({ feature: 'first_seen', value: iso(f.firstSeenMs), note: f.firstSeenMs - window.fromMs < 3_600_000 ? 'seen from the start of the window' : `first seen ${((f.firstSeenMs - window.fromMs) / 3_600_000).toFixed(1)} h into the window` });
  ev.push({ feature: 'fan_in_growth', value: f.lateClients, note: `${f.lateClients} of ${f.clients} clients first came in the second half of its time in the window` });
  ev.push({ feature: 'active_hours', value: f.activeHours, note: `contacted in ${f.activeHours} distinct hours` });
  const c = contributions(model, s.x);
  const top = c
    .map((v, i) => ({ v, i }))
    .sort((a, b) => b.v - a.v)
    .slice(0, 3)
    .filter((t) => t.v > 0)
    .map((t) => featureMeaning[featureNames[t.i]!]);
  ev.push({ feature: 'model_score', value: r3(s.score), note: `learned model (logistic regression, ${model.features.length} features, threshold ${model.threshold.toFixed(3)}); strongest reasons: ${top.join(', ') || 'none'}` });
  return {
    kind: 'c2-candidate',
    ip: formatIpv4(f.ip),
    port: f.port,
    proto: f.proto === 17 ? 'udp' : 'tcp',
    score: r3(s.score),
    firstSeen: iso(f.firstSeenMs),
    lastSeen: iso(f.lastSeenMs),
    clients: f.clients,
    knownBadClients: f.badClients,
    evidence: ev,
    window: { from: iso(window.fromMs), to: iso(window.toMs) },
  };
}

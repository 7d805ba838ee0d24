/**
 * Findings as IntelMQ events (IntelMQ's harmonisation, intelmq/etc/harmonization.conf): the flat
 * dotted keys an IntelMQ pipeline reads, so an ISP already running IntelMQ can feed a batch to
 * it (a JSON-lines file into its file collector + JSON parser) and keep its own routing. Taxonomy
 * and type come from the RSIT-based list IntelMQ uses; what IntelMQ has no key for goes under
 * `extra.` (the harmonisation's only escape hatch). No password ever: `extra.dictionary_entry`.
 */
import type { Finding, FindingKind } from '../core/records.js';
import type { BatchFormat } from './formats/types.js';
import { cvesOf, detailText, publicFinding } from './public.js';

/** One IntelMQ event: harmonisation keys to values. */
export type IntelmqEvent = Readonly<Record<string, string | number | boolean | readonly string[]>>;

/** Classification per finding kind: [taxonomy, type]. */
export const intelmqClassification: Readonly<Record<FindingKind, readonly [string, string]>> = {
  'weak-credential': ['vulnerable', 'vulnerable-system'],
  'firmware-vulnerability': ['vulnerable', 'vulnerable-system'],
  'unauthenticated-admin': ['vulnerable', 'vulnerable-system'],
  'end-of-life': ['vulnerable', 'vulnerable-system'],
  'exposed-service': ['vulnerable', 'potentially-unwanted-accessible'],
  infected: ['malicious-code', 'infected-system'],
  'c2-server': ['malicious-code', 'c2-server'],
};

/** Feed name IntelMQ shows (feed.name) and who provides it (feed.provider). */
export const intelmqFeed = { name: 'iotclean-notify', provider: 'iotclean' } as const;

function identifier(f: Finding): string {
  if (f.kind === 'infected' || f.kind === 'c2-server') return detailText(f, 'fingerprint') ?? f.kind;
  if (f.kind === 'firmware-vulnerability') return cvesOf(f)[0]?.toLowerCase() ?? f.kind;
  if (f.kind === 'exposed-service') return f.protocol ? `accessible-${f.protocol}` : f.kind;
  return f.kind;
}

/** One finding as an IntelMQ event; `observedBy` is time.observation (when the centre exported it). */
export function toIntelmqEvent(finding: Finding, context: { readonly ticket: string; readonly observedBy: string }): IntelmqEvent {
  const f = publicFinding(finding);
  const [taxonomy, type] = intelmqClassification[f.kind];
  const e: Record<string, string | number | boolean | readonly string[]> = {
    'feed.name': intelmqFeed.name,
    'feed.provider': intelmqFeed.provider,
    'classification.taxonomy': taxonomy,
    'classification.type': type,
    'classification.identifier': identifier(f),
    'source.ip': f.ip,
    'time.source': f.observedAt,
    'time.observation': context.observedBy,
    'extra.ticket': context.ticket,
    'extra.kind': f.kind,
    'extra.severity': f.severity,
    'extra.period': f.period,
  };
  if (f.port !== null) {
    e['source.port'] = f.port;
    e['protocol.transport'] = 'tcp';
  }
  if (f.protocol !== null) e['protocol.application'] = f.protocol;
  if (f.id !== undefined) e['extra.finding_id'] = f.id;
  if (f.kind === 'infected' || f.kind === 'c2-server') {
    const fp = detailText(f, 'fingerprint');
    if (fp !== null) e['malware.name'] = fp.toLowerCase();
  }
  const cves = cvesOf(f);
  if (cves.length) e['extra.cves'] = cves;
  const entry = detailText(f, 'entry');
  if (entry !== null) e['extra.dictionary_entry'] = entry;
  for (const [key, value] of [
    ['extra.device_type', f.device.type],
    ['extra.device_vendor', f.device.vendor],
    ['extra.device_model', f.device.model],
    ['extra.device_firmware', f.device.firmware],
    ['extra.isp', f.isp],
    ['extra.prefix_owner', f.prefixOwner],
    ['extra.plan_version', f.planVersion],
    ['event_description.text', detailText(f, 'reason')],
  ] as const) {
    if (value !== null) e[key] = value;
  }
  if (f.surveyId !== null) e['extra.survey_id'] = f.surveyId;
  return e;
}

/** The batch as IntelMQ events, one JSON object per line (JSON Lines). */
export const intelmqFormat: BatchFormat = {
  name: 'intelmq',
  extension: 'intelmq.jsonl',
  mediaType: 'application/x-ndjson; charset=utf-8',
  head: () => '',
  row: (f, meta) => `${JSON.stringify(toIntelmqEvent(f, { ticket: meta.ticket, observedBy: meta.createdAt }))}\n`,
  tail: () => '',
};

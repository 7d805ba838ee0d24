/**
 * C&C candidates → one MISP event (the JSON MISP's /events/add and "Import from MISP JSON" take):
 * one `ip-dst|port` attribute per endpoint (or, with `objects`, one `ip-port` object from the
 * misp-objects template), to_ids while the endpoint is alive and valid, first_seen/last_seen, the
 * TLP tag and the ecsirt taxonomy's c2server tag. Uuids are UUIDv5 like the STIX ids, so a
 * re-export updates the same event and attributes instead of duplicating them.
 */
import { uuidv5, iotcleanNamespace } from './ids.js';
import { entryObjects, validity } from './stix.js';
import type { ShareCounts, ShareEntry, ShareOptions, Tlp } from './types.js';

/** misp-objects/objects/ip-port/definition.json */
export const ipPortTemplate = { uuid: '9f8cea74-16fe-4968-a2b4-026676949ac6', version: '10' } as const;

/**
 * MISP distribution per TLP 2.0 level: red and amber+strict your organisation only, amber this
 * community, green connected communities, clear all. Tags use MISP's tlp taxonomy (tlp:clear, tlp:amber+strict).
 */
const distributionOf: Record<Tlp, string> = { red: '0', 'amber+strict': '0', amber: '1', green: '2', clear: '3' };

export interface MispAttribute {
  readonly uuid: string;
  readonly type: string;
  readonly category: string;
  readonly value: string;
  readonly to_ids: boolean;
  readonly distribution: string;
  readonly timestamp: string;
  readonly comment: string;
  readonly first_seen?: string;
  readonly last_seen?: string;
  readonly object_relation?: string;
  readonly Tag?: readonly { readonly name: string }[];
}

export interface MispObject {
  readonly uuid: string;
  readonly name: string;
  readonly 'meta-category': string;
  readonly description: string;
  readonly template_uuid: string;
  readonly template_version: string;
  readonly distribution: string;
  readonly timestamp: string;
  readonly comment: string;
  readonly first_seen?: string;
  readonly last_seen?: string;
  readonly Attribute: readonly MispAttribute[];
}

export interface MispEvent {
  readonly Event: {
    readonly uuid: string;
    readonly info: string;
    readonly date: string;
    readonly threat_level_id: string;
    readonly analysis: string;
    readonly distribution: string;
    readonly published: boolean;
    readonly timestamp: string;
    readonly Orgc: { readonly name: string; readonly uuid: string };
    readonly Tag: readonly { readonly name: string }[];
    readonly Attribute: readonly MispAttribute[];
    readonly Object: readonly MispObject[];
  };
}

const seconds = (ms: number) => String(Math.floor(ms / 1000));
/** MISP keeps first_seen/last_seen with microseconds and an offset. */
const mispTime = (ms: number) => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000+00:00');

/** Build the event; `objects` picks ip-port objects instead of ip-dst|port attributes. */
export async function buildMispEvent(
  entries: AsyncIterable<ShareEntry> | Iterable<ShareEntry>,
  o: ShareOptions,
  options: { readonly objects?: boolean; readonly nowMs?: number } = {},
): Promise<{ event: MispEvent; counts: ShareCounts }> {
  const nowMs = options.nowMs ?? Date.now();
  const skipped: Record<keyof ShareCounts['skipped'], number> = { 'low-score': 0, dead: 0, excluded: 0, 'before-since': 0, 'not-ipv4': 0 };
  const rows: { key: string; attr: MispAttribute[]; obj: MispObject | undefined; from: number; modified: number }[] = [];
  let candidates = 0;
  let expired = 0;
  const orgUuid = uuidv5(iotcleanNamespace, `misp-org:${o.identity}`);
  for await (const e of entries) {
    candidates++;
    // The same selection as the STIX export, so both formats share exactly the same list.
    const r = entryObjects(e, o, nowMs);
    if ('skip' in r) {
      skipped[r.skip]++;
      continue;
    }
    if (r.expired) expired++;
    const c = e.candidate;
    const { from, until, live } = validity(e, o.ttlMs);
    const modified = Math.max(Date.parse(c.lastSeen), live.lastCheckMs ?? -Infinity, from);
    const last = Math.max(Date.parse(c.lastSeen), live.lastAliveMs ?? -Infinity, from);
    const key = `${o.identity}|${c.ip}|${c.port}|${c.proto}`;
    const toIds = live.alive && until > nowMs;
    const comment = `C&C candidate ${c.ip}:${c.port}/${c.proto}, score ${c.score.toFixed(3)}, ${c.knownBadClients}/${c.clients} clients known bots; valid until ${new Date(until).toISOString()}${live.alive ? '' : ' (unreachable)'}`;
    const common = { category: 'Network activity', distribution: '5', timestamp: seconds(modified) };
    const seen = { first_seen: mispTime(from), last_seen: mispTime(last) };
    if (options.objects) {
      const a = (rel: string, type: string, value: string, ids: boolean): MispAttribute => ({
        uuid: uuidv5(iotcleanNamespace, `misp-attr:${key}:${rel}`),
        type,
        ...common,
        ...(type === 'datetime' ? { category: 'Other' } : {}),
        value,
        to_ids: ids,
        comment: '',
        object_relation: rel,
      });
      rows.push({
        key,
        attr: [],
        from,
        modified,
        obj: {
          uuid: uuidv5(iotcleanNamespace, `misp-object:${key}`),
          name: 'ip-port',
          'meta-category': 'network',
          description: 'An IP address (or domain or hostname) and a port seen as a tuple (or as a triple) in a specific time frame.',
          template_uuid: ipPortTemplate.uuid,
          template_version: ipPortTemplate.version,
          distribution: '5',
          timestamp: seconds(modified),
          comment,
          ...seen,
          Attribute: [
            a('ip-dst', 'ip-dst', c.ip, toIds),
            a('dst-port', 'port', String(c.port), false),
            a('protocol', 'text', c.proto, false),
            a('first-seen', 'datetime', mispTime(from), false),
            a('last-seen', 'datetime', mispTime(last), false),
          ],
        },
      });
    } else {
      rows.push({
        key,
        obj: undefined,
        from,
        modified,
        attr: [{ uuid: uuidv5(iotcleanNamespace, `misp-attr:${key}`), type: 'ip-dst|port', ...common, value: `${c.ip}|${c.port}`, to_ids: toIds, comment, ...seen }],
      });
    }
  }
  // One entry per endpoint, the newest version kept (as in the STIX export).
  const newest = new Map<string, (typeof rows)[number]>();
  for (const r of rows) if (!newest.has(r.key) || r.modified > newest.get(r.key)!.modified) newest.set(r.key, r);
  rows.length = 0;
  rows.push(...newest.values());
  rows.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const first = rows.length ? Math.min(...rows.map((r) => r.from)) : nowMs;
  const latest = rows.length ? Math.max(...rows.map((r) => r.modified)) : nowMs;
  const event: MispEvent = {
    Event: {
      uuid: uuidv5(iotcleanNamespace, `misp-event:${o.identity}:c2-list`),
      info: `IoT botnet C&C candidates from flow records (${o.identity})`,
      date: new Date(first).toISOString().slice(0, 10),
      threat_level_id: '2',
      analysis: '1',
      distribution: distributionOf[o.tlp],
      published: false,
      timestamp: seconds(latest),
      Orgc: { name: o.identity, uuid: orgUuid },
      Tag: [{ name: `tlp:${o.tlp}` }, { name: 'ecsirt:malicious-code="c2server"' }],
      Attribute: rows.flatMap((r) => r.attr),
      Object: rows.flatMap((r) => (r.obj ? [r.obj] : [])),
    },
  };
  return { event, counts: { candidates, shared: rows.length, expired, skipped } };
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const ipv4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
/** MISP's categories allowed per attribute type, for the types iotclean emits (app/Model/Attribute.php typeDefinitions). */
const categoriesOf: Record<string, readonly string[]> = {
  'ip-dst|port': ['Network activity', 'External analysis', 'Payload delivery', 'Payload installation'],
  'ip-dst': ['Network activity', 'External analysis', 'Payload delivery', 'Artifacts dropped'],
  port: ['Network activity', 'Other'],
  text: ['Network activity', 'Other', 'External analysis', 'Internal reference'],
  datetime: ['Other'],
};

function attributeErrors(a: MispAttribute, where: string): string[] {
  const e: string[] = [];
  if (!uuidPattern.test(a.uuid ?? '')) e.push(`${where}: uuid: required, a UUID`);
  const cats = categoriesOf[a.type];
  if (!cats) e.push(`${where}: type: "${a.type}" is not a type this export emits`);
  else if (!cats.includes(a.category)) e.push(`${where}: category: "${a.category}" is not allowed for ${a.type}`);
  if (typeof a.value !== 'string' || a.value === '') e.push(`${where}: value: required`);
  else if (a.type === 'ip-dst|port') {
    const [ip, port, extra] = a.value.split('|');
    if (extra !== undefined || !ipv4.test(ip ?? '') || !/^\d{1,5}$/.test(port ?? '') || Number(port) > 65535) e.push(`${where}: value: "${a.value}" is not ip|port`);
  } else if (a.type === 'ip-dst' && !ipv4.test(a.value)) e.push(`${where}: value: "${a.value}" is not an IP address`);
  else if (a.type === 'port' && (!/^\d{1,5}$/.test(a.value) || Number(a.value) > 65535)) e.push(`${where}: value: "${a.value}" is not a port`);
  if (typeof a.to_ids !== 'boolean') e.push(`${where}: to_ids: required, true or false`);
  if (!/^[0-5]$/.test(a.distribution ?? '')) e.push(`${where}: distribution: 0-5`);
  if (!/^\d+$/.test(a.timestamp ?? '')) e.push(`${where}: timestamp: epoch seconds`);
  if (a.first_seen !== undefined && a.last_seen !== undefined && Date.parse(a.last_seen) < Date.parse(a.first_seen)) e.push(`${where}: last_seen before first_seen`);
  for (const t of [a.first_seen, a.last_seen]) if (t !== undefined && !Number.isFinite(Date.parse(t))) e.push(`${where}: first_seen/last_seen: "${t}" is not ISO 8601`);
  return e;
}

/** Every problem MISP would refuse the event for (the fields its event and attribute validation requires). */
export function validateMispEvent(v: unknown): string[] {
  const ev = (v as MispEvent | null)?.Event;
  if (!ev || typeof ev !== 'object') return ['Event: required'];
  const e: string[] = [];
  if (typeof ev.info !== 'string' || ev.info.trim() === '') e.push('Event.info: required');
  if (!/^\d{4}-\d{2}-\d{2}$/.test(ev.date ?? '')) e.push('Event.date: YYYY-MM-DD');
  if (!/^[1-4]$/.test(ev.threat_level_id ?? '')) e.push('Event.threat_level_id: 1-4');
  if (!/^[0-2]$/.test(ev.analysis ?? '')) e.push('Event.analysis: 0-2');
  if (!/^[0-4]$/.test(ev.distribution ?? '')) e.push('Event.distribution: 0-4');
  if (!uuidPattern.test(ev.uuid ?? '')) e.push('Event.uuid: a UUID');
  if (!/^\d+$/.test(ev.timestamp ?? '')) e.push('Event.timestamp: epoch seconds');
  if (!ev.Orgc || typeof ev.Orgc.name !== 'string' || ev.Orgc.name === '') e.push('Event.Orgc.name: required');
  const tags = (ev.Tag ?? []).map((t) => t.name);
  if (tags.filter((t) => /^tlp:/.test(t)).length !== 1) e.push('Event.Tag: exactly one tlp: tag');
  if (tags.some((t) => typeof t !== 'string' || t === '')) e.push('Event.Tag: every tag needs a name');
  const uuids = new Set<string>();
  const once = (u: string, where: string) => (uuids.has(u) ? e.push(`${where}: uuid ${u} used twice`) : uuids.add(u));
  (ev.Attribute ?? []).forEach((a, i) => (e.push(...attributeErrors(a, `Attribute[${i}]`)), once(a.uuid, `Attribute[${i}]`)));
  (ev.Object ?? []).forEach((o, i) => {
    const w = `Object[${i}]`;
    if (!o.name) e.push(`${w}: name: required`);
    if (!uuidPattern.test(o.uuid ?? '') || !uuidPattern.test(o.template_uuid ?? '')) e.push(`${w}: uuid and template_uuid: UUIDs`);
    once(o.uuid, w);
    const rels = new Set<string>();
    o.Attribute.forEach((a, j) => {
      e.push(...attributeErrors(a, `${w}.Attribute[${j}]`));
      once(a.uuid, `${w}.Attribute[${j}]`);
      if (!a.object_relation) e.push(`${w}.Attribute[${j}]: object_relation: required in an object`);
      else rels.add(a.object_relation);
    });
    if (o.name === 'ip-port' && !['dst-port', 'src-port', 'domain', 'hostname', 'ip', 'ip-src', 'ip-dst'].some((r) => rels.has(r))) e.push(`${w}: ip-port needs one of its requiredOneOf attributes`);
  });
  return e;
}

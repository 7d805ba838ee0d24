import { describe, expect, it } from 'vitest';
import { cidrRange, parseIpv4 } from '../core/ip.js';
import { canonicalJson, scoId, stixScoNamespace, uuidv5 } from './ids.js';
import { tlpOfMarkings } from './received.js';
import { buildBundle, endpointPattern } from './stix.js';
import { candidate, sampleEntries } from './test-support.js';
import { defaultShareOptions, parseTlp, type ShareOptions, type StixObject, type Tlp } from './types.js';
import { checkStixPattern, validateStixBundle, validateStixObject } from './validate.js';

const opts: ShareOptions = { ...defaultShareOptions, identity: 'ISP-A' };
const now = Date.parse('2026-11-28T00:00:00.000Z');
const byType = (objects: readonly StixObject[], type: string) => objects.filter((o) => o.type === type);

describe('ids', () => {
  it('UUIDv5 matches the RFC 4122 example and STIX SCO ids are the spec ones', () => {
    // Python: uuid.uuid5(uuid.NAMESPACE_DNS, 'python.org') == 886313e1-3b8a-5372-9b90-0c9aee199e5d
    expect(uuidv5('6ba7b810-9dad-11d1-80b4-00c04fd430c8', 'python.org')).toBe('886313e1-3b8a-5372-9b90-0c9aee199e5d');
    // STIX 2.1 §2.9: UUIDv5 in the SCO namespace of the canonical JSON of the id-contributing properties.
    expect(scoId('ipv4-addr', { value: '203.0.113.1' })).toBe(`ipv4-addr--${uuidv5(stixScoNamespace, '{"value":"203.0.113.1"}')}`);
    expect(canonicalJson({ b: [1, { d: 'x', c: null }], a: 'é' })).toBe('{"a":"é","b":[1,{"c":null,"d":"x"}]}');
  });
});

describe('buildBundle', () => {
  it('emits a valid, closed STIX 2.1 bundle with the objects the issue asks for', async () => {
    const { bundle, counts } = await buildBundle(sampleEntries(), opts, now);
    expect(validateStixBundle(bundle, { closed: true })).toEqual([]);
    expect(counts).toMatchObject({ candidates: 4, shared: 3, expired: 1, skipped: { 'low-score': 1 } });
    // TLP 2.0 AMBER as OASIS published it, and TLP 1.0 AMBER for consumers that know only the predefined ones.
    expect(byType(bundle.objects, 'marking-definition')).toEqual([
      expect.objectContaining({ id: 'marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421', name: 'TLP:AMBER', extensions: { 'extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d': { extension_type: 'property-extension', tlp_2_0: 'amber' } } }),
      expect.objectContaining({ id: 'marking-definition--f88d31f6-486f-44da-b317-01333bde0b82', name: 'TLP:AMBER', definition: { tlp: 'amber' } }),
    ]);
    for (const x of bundle.objects.filter((x) => x.type !== 'marking-definition')) {
      expect(x.object_marking_refs).toEqual(['marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421', 'marking-definition--f88d31f6-486f-44da-b317-01333bde0b82']);
    }
    expect(byType(bundle.objects, 'identity')).toHaveLength(1);
    expect(byType(bundle.objects, 'infrastructure')).toHaveLength(3);
    expect(byType(bundle.objects, 'indicator')).toHaveLength(3);
    expect(byType(bundle.objects, 'sighting')).toHaveLength(3);
    // 203.0.113.10 on two ports is one address object.
    expect(byType(bundle.objects, 'ipv4-addr').map((o) => o.value)).toEqual(['198.51.100.7', '203.0.113.10']);
    expect(byType(bundle.objects, 'relationship').map((r) => r.relationship_type).sort()).toEqual(['consists-of', 'consists-of', 'consists-of', 'indicates', 'indicates', 'indicates']);
    const infra = byType(bundle.objects, 'infrastructure')[0]!;
    expect(infra.infrastructure_types).toEqual(['command-and-control', 'botnet']);
  });

  it('derives valid_until from liveness: expired at the first failed check, ttl after the last sign of life, or the monitor\'s verdict', async () => {
    const { bundle } = await buildBundle(sampleEntries(), opts, now);
    const ind = Object.fromEntries(byType(bundle.objects, 'indicator').map((i) => [String(i.name).split(' ').pop(), i]));
    expect(ind['198.51.100.7:23/tcp']).toMatchObject({ valid_from: '2026-11-20T01:00:00.000Z', valid_until: '2026-11-26T00:00:00.000Z', confidence: 97 });
    expect(ind['203.0.113.10:6667/tcp']).toMatchObject({ valid_until: '2026-12-03T00:00:00.000Z' });
    expect(ind['203.0.113.10:4444/udp']).toMatchObject({ valid_until: '2026-12-30T00:00:00.000Z' });
    expect(ind['203.0.113.10:6667/tcp']!.pattern).toBe(endpointPattern('203.0.113.10', 6667, 'tcp'));
    const sighting = byType(bundle.objects, 'sighting').find((s) => s.sighting_of_ref === ind['198.51.100.7:23/tcp']!.id)!;
    expect(sighting).toMatchObject({ count: 12, first_seen: '2026-11-20T01:00:00.000Z', last_seen: '2026-11-25T12:00:00.000Z' });
  });

  it('revives an indicator when the endpoint answers again: same id, newer modified, valid again', async () => {
    const [, dead] = sampleEntries();
    const revived = { ...dead!, liveness: [...dead!.liveness, { ...dead!.liveness[0]!, at: '2026-11-28T06:00:00.000Z', alive: true }] };
    const a = byType((await buildBundle([dead!], opts, now)).bundle.objects, 'indicator')[0]!;
    const b = byType((await buildBundle([revived], opts, now)).bundle.objects, 'indicator')[0]!;
    expect(b.id).toBe(a.id);
    expect(Date.parse(String(b.modified))).toBeGreaterThan(Date.parse(String(a.modified)));
    expect(b.valid_until).toBe('2026-12-05T06:00:00.000Z');
  });

  it('is deterministic: the same candidates give the same bundle, byte for byte', async () => {
    const a = await buildBundle(sampleEntries(), opts, now);
    const b = await buildBundle([...sampleEntries()].reverse(), opts, now + 86_400_000);
    expect(JSON.stringify(b.bundle)).toBe(JSON.stringify(a.bundle));
  });

  it('applies the ISP\'s choices: min score, alive only, excluded prefixes, since, TLP', async () => {
    const own = cidrRange(parseIpv4('203.0.113.0')!, 24);
    const r = await buildBundle(sampleEntries(), { ...opts, minScore: 0.1, aliveOnly: true, exclude: [own], tlp: 'green' }, now);
    expect(r.counts).toMatchObject({ shared: 1, skipped: { dead: 1, excluded: 2 } });
    expect(byType(r.bundle.objects, 'ipv4-addr').map((o) => o.value)).toEqual(['192.0.2.55']);
    expect(byType(r.bundle.objects, 'marking-definition')[0]!.name).toBe('TLP:GREEN');
    const since = await buildBundle(sampleEntries(), { ...opts, since: '2026-11-26T12:00:00.000Z' }, now);
    // Only the candidate checked on the 27th changed since then.
    expect(since.counts.shared).toBe(1);
    expect(validateStixBundle(r.bundle, { closed: true })).toEqual([]);
  });

  it('marks each TLP 2.0 level with a TLP 1.0 marking never looser than it', async () => {
    const levels: [Tlp, string, string][] = [
      ['clear', 'TLP:CLEAR', 'white'],
      ['green', 'TLP:GREEN', 'green'],
      ['amber', 'TLP:AMBER', 'amber'],
      // 1.0 AMBER (the recipient's organisation only) is what 2.0 calls AMBER+STRICT.
      ['amber+strict', 'TLP:AMBER+STRICT', 'amber'],
      ['red', 'TLP:RED', 'red'],
    ];
    for (const [tlp, name, tlp1] of levels) {
      const { bundle } = await buildBundle(sampleEntries(), { ...opts, tlp }, now);
      expect(validateStixBundle(bundle, { closed: true })).toEqual([]);
      const [two, one] = byType(bundle.objects, 'marking-definition');
      expect(two).toMatchObject({ name, created: '2022-10-01T00:00:00.000Z' });
      expect(one).toMatchObject({ definition_type: 'tlp', definition: { tlp: tlp1 } });
    }
    expect(['white', 'TLP:CLEAR', ' Amber+Strict ', 'amber-strict'].map(parseTlp)).toEqual(['clear', 'clear', 'amber+strict', undefined]);
  });

  it('a candidate reported twice is shared once, at its newest version', async () => {
    const [alive] = sampleEntries();
    const later = { ...alive!, candidate: { ...alive!.candidate, lastSeen: '2026-11-27T00:00:00.000Z' } };
    const r = await buildBundle([later, alive!], opts, now);
    expect(r.counts.shared).toBe(1);
    expect(byType(r.bundle.objects, 'indicator').map((i) => i.modified)).toEqual(['2026-11-27T00:00:00.000Z']);
    expect(validateStixBundle(r.bundle, { closed: true })).toEqual([]);
  });

  it('skips what is not IPv4 instead of emitting a broken object', async () => {
    const r = await buildBundle([{ candidate: candidate('2001:db8::1', 443), liveness: [], validUntil: null }], opts, now);
    expect(r.counts.skipped['not-ipv4']).toBe(1);
    expect(validateStixBundle(r.bundle)).toEqual([]);
  });
});

describe('validateStixObject catches broken objects', () => {
  const good = async () => (await buildBundle(sampleEntries(), opts, now)).bundle.objects;
  const one = async (type: string) => ({ ...byType(await good(), type)[0]! }) as Record<string, unknown>;
  const cases: [string, string, (o: Record<string, unknown>) => void, RegExp][] = [
    ['indicator', 'missing pattern', (o) => delete o.pattern, /pattern: required/],
    ['indicator', 'bad id', (o) => (o.id = 'indicator--1234'), /id: required/],
    ['indicator', 'id of another type', (o) => (o.id = String(o.id).replace('indicator', 'malware')), /must start with "indicator--"/],
    ['indicator', 'no spec_version', (o) => delete o.spec_version, /spec_version: required/],
    ['indicator', 'timestamp without Z', (o) => (o.valid_from = '2026-11-20T01:00:00+09:00'), /valid_from.*RFC 3339/],
    ['indicator', 'created in seconds only', (o) => (o.created = '2026-11-20T01:00:00Z'), /millisecond/],
    ['indicator', 'impossible date', (o) => (o.valid_from = '2026-02-30T00:00:00.000Z'), /valid_from/],
    ['indicator', 'valid_until before valid_from', (o) => (o.valid_until = '2020-01-01T00:00:00.000Z'), /valid_until: must be later/],
    ['indicator', 'modified before created', (o) => (o.modified = '2020-01-01T00:00:00.000Z'), /modified: must be at or after created/],
    ['indicator', 'broken pattern', (o) => (o.pattern = "[ipv4-addr:value = '1.2.3.4'"), /pattern: expected "\]"/],
    ['indicator', 'confidence out of range', (o) => (o.confidence = 150), /confidence/],
    ['indicator', 'marking ref of a wrong type', (o) => (o.object_marking_refs = ['identity--f88d31f6-486f-44da-b317-01333bde0b82']), /object_marking_refs: must refer to marking-definition/],
    ['sighting', 'missing sighting_of_ref', (o) => delete o.sighting_of_ref, /sighting_of_ref: required/],
    ['sighting', 'count out of range', (o) => (o.count = 1_000_000_000), /count/],
    ['sighting', 'where_sighted_refs not identities', (o) => (o.where_sighted_refs = [o.sighting_of_ref]), /where_sighted_refs/],
    ['relationship', 'vocabulary: indicator consists-of', (o) => (o.relationship_type = 'consists-of'), /not a relationship of indicator|must target/],
    ['relationship', 'bad relationship_type', (o) => (o.relationship_type = 'Indicates'), /relationship_type/],
    ['infrastructure', 'missing name', (o) => delete o.name, /name: required/],
    ['infrastructure', 'last_seen before first_seen', (o) => (o.last_seen = '2020-01-01T00:00:00.000Z'), /last_seen/],
    ['ipv4-addr', 'bad value', (o) => (o.value = '300.1.1.1'), /value/],
    ['identity', 'bad custom property name', (o) => (o['Bad-Name'] = 1), /custom property/],
    ['marking-definition', 'TLP 2.0 level not the id\'s', (o) => (o.extensions = { 'extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d': { extension_type: 'property-extension', tlp_2_0: 'red' } }), /published id for TLP:RED/],
    ['marking-definition', 'TLP 2.0 id without its extension', (o) => (o.extensions = {}), /needs the TLP 2.0 extension/],
    ['marking-definition', 'TLP 2.0 under a 1.0 name', (o) => (o.name = 'TLP:WHITE'), /name: TLP 2.0 marking name must be TLP:AMBER/],
    ['marking-definition', 'TLP with a made-up id', (o) => (o.id = 'marking-definition--f88d31f6-486f-44da-b317-01333bde0b83'), /TLP/],
  ];
  it.each(cases)('%s: %s', async (type, _what, breakIt, message) => {
    const o = await one(type);
    expect(validateStixObject(o)).toEqual([]);
    breakIt(o);
    expect(validateStixObject(o).join('\n')).toMatch(message);
  });

  it('a bundle with a dangling ref fails the closed check, and a 2.0-style bundle fails', async () => {
    const objects = (await good()).filter((o) => o.type !== 'identity');
    expect(validateStixBundle({ type: 'bundle', id: 'bundle--f88d31f6-486f-44da-b317-01333bde0b82', objects }, { closed: true }).join('\n')).toMatch(/created_by_ref: identity--.* is not in the bundle/);
    expect(validateStixBundle({ type: 'bundle', id: 'bundle--f88d31f6-486f-44da-b317-01333bde0b82', spec_version: '2.0', objects: [] }).join('\n')).toMatch(/spec_version/);
  });
});

describe('checkStixPattern', () => {
  it.each([
    "[ipv4-addr:value = '198.51.100.1'] AND [network-traffic:dst_port = 80]",
    "[network-traffic:dst_ref.value = '10.0.0.1' AND network-traffic:protocols[*] = 'tcp']",
    "([file:name = 'a'] OR [file:name LIKE 'x%']) WITHIN 300 SECONDS",
    "[ipv4-addr:value ISSUBSET '198.51.100.0/24']",
    "[network-traffic:dst_port IN (23, 2323)] REPEATS 5 TIMES",
    "[file:created > t'2026-01-01T00:00:00Z'] START t'2026-01-01T00:00:00Z' STOP t'2026-02-01T00:00:00Z'",
    "[x-custom-type:some_prop NOT = 'it\\'s']",
  ])('accepts %s', (p) => {
    expect(checkStixPattern(p)).toEqual([]);
  });
  it.each([
    "ipv4-addr:value = '1.2.3.4'",
    "[ipv4-addr:value = '1.2.3.4']]",
    "[ipv4-addr:value == '1.2.3.4']",
    "[ipv4-addr value = '1.2.3.4']",
    "[ipv4-addr:value = 1.2.3.4]",
    "[ipv4-addr:value = '1.2.3.4' AND]",
    "[network-traffic:dst_port = 80] WITHIN SECONDS",
    "[file:created > t'yesterday']",
    "[IPv4:value = 'x']",
  ])('refuses %s', (p) => {
    expect(checkStixPattern(p)).not.toEqual([]);
  });
});

describe('tlpOfMarkings (what a received object may be passed on to)', () => {
  it('reads TLP 2.0 markings first, TLP 1.0 alone as its 2.0 meaning, unknown ones as unmarked', async () => {
    const { bundle } = await buildBundle(sampleEntries(), { ...opts, tlp: 'green' }, now);
    expect(tlpOfMarkings(byType(bundle.objects, 'indicator')[0]!.object_marking_refs)).toBe('green');
    const tlp1Amber = 'marking-definition--f88d31f6-486f-44da-b317-01333bde0b82';
    const tlp2Red = 'marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1';
    expect(tlpOfMarkings([tlp1Amber])).toBe('amber+strict');
    expect(tlpOfMarkings([tlp1Amber, tlp2Red])).toBe('red');
    expect(tlpOfMarkings(['marking-definition--00000000-0000-4000-8000-000000000000'])).toBeNull();
    expect(tlpOfMarkings(undefined)).toBeNull();
  });
});

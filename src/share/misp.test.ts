import { describe, expect, it } from 'vitest';
import { buildMispEvent, validateMispEvent } from './misp.js';
import { sampleEntries } from './test-support.js';
import { defaultShareOptions, type ShareOptions } from './types.js';

const opts: ShareOptions = { ...defaultShareOptions, identity: 'ISP-A' };
const nowMs = Date.parse('2026-11-28T00:00:00.000Z');

describe('MISP export', () => {
  it('one ip-dst|port attribute per shared endpoint, to_ids only while alive and valid, TLP tag', async () => {
    const { event, counts } = await buildMispEvent(sampleEntries(), opts, { nowMs });
    expect(validateMispEvent(event)).toEqual([]);
    expect(counts.shared).toBe(3);
    expect(event.Event.Tag.map((t) => t.name)).toContain('tlp:amber');
    expect(event.Event.distribution).toBe('1');
    const byValue = Object.fromEntries(event.Event.Attribute.map((a) => [a.value, a]));
    expect(Object.keys(byValue).sort()).toEqual(['198.51.100.7|23', '203.0.113.10|4444', '203.0.113.10|6667']);
    expect(byValue['203.0.113.10|6667']).toMatchObject({ type: 'ip-dst|port', category: 'Network activity', to_ids: true, first_seen: '2026-11-20T01:00:00.000000+00:00', last_seen: '2026-11-26T00:00:00.000000+00:00' });
    expect(byValue['198.51.100.7|23']!.to_ids).toBe(false);
  });

  it('ip-port objects carry the template uuid and the required relations', async () => {
    const { event } = await buildMispEvent(sampleEntries(), { ...opts, tlp: 'red' }, { nowMs, objects: true });
    expect(validateMispEvent(event)).toEqual([]);
    expect(event.Event.Attribute).toHaveLength(0);
    expect(event.Event.Object).toHaveLength(3);
    const o = event.Event.Object[0]!;
    expect(o).toMatchObject({ name: 'ip-port', template_uuid: '9f8cea74-16fe-4968-a2b4-026676949ac6' });
    expect(o.Attribute.map((a) => a.object_relation)).toEqual(['ip-dst', 'dst-port', 'protocol', 'first-seen', 'last-seen']);
    expect(event.Event.Tag[0]!.name).toBe('tlp:red');
  });

  it('is stable across re-exports (same uuids), and the checker refuses broken events', async () => {
    const a = await buildMispEvent(sampleEntries(), opts, { nowMs });
    const b = await buildMispEvent(sampleEntries().reverse(), opts, { nowMs });
    expect(JSON.stringify(b.event)).toBe(JSON.stringify(a.event));
    const broken = JSON.parse(JSON.stringify(a.event));
    broken.Event.info = '';
    broken.Event.threat_level_id = '9';
    broken.Event.Attribute[0].value = '1.2.3.4';
    broken.Event.Attribute[1].category = 'Financial fraud';
    broken.Event.Attribute[2].to_ids = 'yes';
    broken.Event.Tag = [];
    const errs = validateMispEvent(broken).join('\n');
    for (const m of [/Event.info/, /threat_level_id/, /Attribute\[0\]: value/, /Attribute\[1\]: category/, /Attribute\[2\]: to_ids/, /tlp: tag/]) expect(errs).toMatch(m);
  });
});

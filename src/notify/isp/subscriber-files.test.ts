/**
 * The subscriber and inventory files and the batch reader: documented headers in any order, bad
 * rows reported with file and line and skipped, a missing header refused, and a seeded fuzz loop
 * that never throws anything but the documented errors.
 */
import { describe, expect, it } from 'vitest';
import { IotcleanError } from '../../core/errors.js';
import { createRng } from '../../core/rng.js';
import { checkBatch } from './batch-file.js';
import type { SessionLogProblem } from './logs/index.js';
import { inventoryCsv, parseInventory, parseSubscribers, subscribersCsv } from './subscriber-files.js';

describe('subscriber file', () => {
  it('reads the documented columns, MAC and client-id lists, and reports bad rows', () => {
    const problems: SessionLogProblem[] = [];
    const f = parseSubscribers(
      'name,subscriber_id,email,language,mac,client_id\n"Sato, Ren",s1,s1@isp.lab.invalid,ja,00-11-22-33-44-55;00:11:22:33:44:66,01:aa:bb\n,s2,,EN,,\nx,s3,not-an-email,ja,,\ny,s4,s4@isp.lab.invalid,fr,,\nz,s5,s5@isp.lab.invalid,,zz,\n',
      'subs.csv',
      (p) => problems.push(p),
    );
    expect(f.subscribers).toEqual([
      { id: 's1', email: 's1@isp.lab.invalid', language: 'ja', name: 'Sato, Ren' },
      { id: 's2', email: null, language: 'en', name: null },
      { id: 's5', email: 's5@isp.lab.invalid', language: 'ja', name: 'z' },
    ]);
    expect([...f.keys.byMac]).toEqual([
      ['00:11:22:33:44:55', 's1'],
      ['00:11:22:33:44:66', 's1'],
    ]);
    expect([...f.keys.byClientId]).toEqual([['01aabb', 's1']]);
    expect(problems.map((p) => [p.file, p.line])).toEqual([
      ['subs.csv', 4],
      ['subs.csv', 5],
      ['subs.csv', 6],
    ]);
  });
  it('round-trips what the lab writes', () => {
    const rows = [{ id: 'a', email: 'a@x.lab.invalid', language: 'en' as const, name: 'A "quoted", name', macs: ['02:00:00:00:00:01'] }];
    const f = parseSubscribers(subscribersCsv(rows), 's.csv');
    expect(f.subscribers).toEqual([{ id: 'a', email: 'a@x.lab.invalid', language: 'en', name: 'A "quoted", name' }]);
    expect(f.keys.byMac.get('02:00:00:00:00:01')).toBe('a');
  });
  it('a file without the header is E_SESSION_LOG', () => {
    expect(() => parseSubscribers('a,b,c\n1,2,3\n', 's.csv')).toThrow(IotcleanError);
  });
});

describe('inventory file', () => {
  it('reads entries by subscriber or MAC and refuses rows with neither or a bad measure', () => {
    const problems: SessionLogProblem[] = [];
    const entries = [
      { subscriber: 's1', mac: null, measure: 'isp-task' as const, contact: 'ops@isp', model: 'Aterm WG2600HP3' },
      { subscriber: null, mac: '00:11:22:33:44:55', measure: 'sier-notice' as const, contact: 'sier@x', model: null },
    ];
    const text = `${inventoryCsv(entries)},,isp-task,ops,\ns9,,reboot,ops,\n`;
    expect(parseInventory(text, 'inv.csv', (p) => problems.push(p))).toEqual(entries);
    expect(problems.map((p) => p.line)).toEqual([4, 5]);
  });
});

describe('batch reader', () => {
  const batch = { kind: 'notification-batch', ticket: 'T-1', isp: 'sakura', createdAt: '2026-12-01T00:00:00Z', findings: [{ kind: 'infected', ip: '127.110.0.1', port: null, observedAt: '2026-12-01T00:00:00Z' }] };
  it('accepts a batch and fills what matching does not need', () => {
    const b = checkBatch(batch, 'b.json');
    expect(b.findings[0]).toMatchObject({ kind: 'infected', ip: '127.110.0.1', port: null, device: { model: null }, details: {} });
  });
  it('refuses a bad field with E_FINDING naming it', () => {
    expect(() => checkBatch({ ...batch, findings: [{ ...batch.findings[0], observedAt: 'soon' }] }, 'b.json')).toThrow(/findings\.0\.observedAt/);
  });
});

describe('fuzz', () => {
  it('the three readers never throw anything but their documented errors on 600 random inputs', () => {
    const rng = createRng('isp-files-fuzz');
    const parts = ['subscriber_id', 'email', 'language', 'mac', 'measure', ',', '"', '\n', 'isp-task', 'sier-notice', 'ja', 'en', 'a@b', '00:11:22:33:44:55', ';', '\u0000', '#', ' '];
    for (let i = 0; i < 600; i++) {
      let text = i % 2 === 0 ? 'subscriber_id,email,language,name,mac,measure\n' : '';
      for (let k = rng.int(60); k > 0; k--) text += rng.next() < 0.9 ? rng.pick(parts) : String.fromCharCode(rng.int(0xffff));
      for (const f of [() => parseSubscribers(text, 'f'), () => parseInventory(text, 'f'), () => checkBatch(JSON.parse(JSON.stringify({ kind: 'notification-batch', ticket: text, isp: 'x', createdAt: '', findings: [{ ip: text }] })), 'f')]) {
        try {
          f();
        } catch (e) {
          expect(['E_SESSION_LOG', 'E_FINDING']).toContain((e as IotcleanError).code);
        }
      }
    }
  });
});

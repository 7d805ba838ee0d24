import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { IotcleanError } from '../core/errors.js';
import { compileOwnRules, loadOwnRules } from './own-rules.js';
import { ruleSourceConformance } from './source.case.js';

const set = loadOwnRules();

describe('iotclean rule files', () => {
  it('load, with a reference and examples on every rule', () => {
    expect(set.rules.length).toBeGreaterThan(40);
    for (const r of set.rules) {
      expect(r.rule.reference).toMatch(/^https?:\/\//);
      expect(r.rule.examples.length).toBeGreaterThan(0);
    }
  });

  for (const r of set.rules) {
    it(`${r.id}: every example gives its params, no counter-example matches`, () => {
      for (const ex of r.rule.examples) {
        const got = set.run(r.id, ex.text);
        expect(got, ex.text).toBeDefined();
        expect(got).toMatchObject(ex.params);
      }
      for (const text of r.rule.counterExamples) expect(set.run(r.id, text), text).toBeUndefined();
    });
  }

  it('cover the Japanese makers public sets lack', () => {
    const vendors = new Set(set.rules.map((r) => r.rule.params['hw.vendor']));
    for (const v of ['NEC', 'Buffalo', 'I-O DATA', 'Yamaha', 'Panasonic', 'Sony']) expect(vendors).toContain(v);
  });
});

describe('rule file validation', () => {
  const dir = mkdtempSync(join(tmpdir(), 'iotclean-rules-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const good = {
    id: 'x-title',
    key: 'html_title',
    regex: '^X (\\d+)$',
    params: { 'hw.vendor': 'X', 'hw.product': 'X {1}' },
    confidence: 0.5,
    description: 'x',
    reference: 'https://example.com/x',
    examples: [{ text: 'X 1', params: { 'hw.product': 'X 1' } }],
  };
  const fail = (rules: unknown[]): IotcleanError => {
    try {
      compileOwnRules([{ file: 'bad.yaml', stem: 'bad', data: { rules } }]);
    } catch (e) {
      if (e instanceof IotcleanError) return e;
      throw e;
    }
    throw new Error('no error');
  };

  it('accepts a good rule and interpolates its captures', () => {
    const s = compileOwnRules([{ file: 'ok.yaml', stem: 'ok', data: { rules: [good] } }]);
    expect(s.match({ key: 'html_title', text: 'X 42' })).toEqual({
      rule: 'iotclean:ok:x-title',
      source: 'iotclean',
      key: 'html_title',
      params: { 'hw.vendor': 'X', 'hw.product': 'X 42' },
      confidence: 0.5,
    });
    expect(s.match({ key: 'html_title', text: 'Y 42' })).toBeUndefined();
  });

  it.each([
    [{ ...good, regex: '(' }, /rule "x-title": bad regex/],
    [{ ...good, key: 'html.titel' }, /rule "x-title": key/],
    [{ ...good, confidence: 2 }, /rule "x-title": confidence/],
    [{ ...good, reference: undefined }, /rule "x-title": reference/],
    [{ ...good, examples: [] }, /rule "x-title": examples: at least one example/],
    [{ ...good, flags: 'g' }, /rule "x-title": flags/],
    [{ ...good, extra: 1 }, /rule "x-title"/],
    [{ ...good, params: { 'hw.product': '{2}' } }, /uses capture \{2\} but the regex has 1/],
    [{ ...good, params: { 'hw.cpe23': 'cpe:/h:x:{hw.product}' } }, /refers to \{hw.product\}/],
    [{ ...good, params: { 'device.type': 'toaster' } }, /device.type "toaster" is not one of/],
    [{ ...good, id: 'Bad Id' }, /rule "Bad Id": id/],
  ])('refuses %j naming the file and rule', (rule, message) => {
    const e = fail([rule]);
    expect(e.code).toBe('E_RULES_FILE');
    expect(e.where.file).toBe('bad.yaml');
    expect(e.message).toMatch(message);
  });

  it('refuses a duplicated id across files', () => {
    expect(() =>
      compileOwnRules([
        { file: 'a.yaml', stem: 'a', data: { rules: [good] } },
        { file: 'b.yaml', stem: 'b', data: { rules: [good] } },
      ]),
    ).toThrow(/defined twice \(also in a.yaml\)/);
  });

  it('refuses bad YAML with the file and line, and a file without rules', () => {
    writeFileSync(join(dir, 'broken.yaml'), 'rules:\n  - id: a\n   key: b\n');
    try {
      loadOwnRules(dir);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(IotcleanError);
      expect((e as IotcleanError).where.file).toBe(join(dir, 'broken.yaml'));
      expect((e as IotcleanError).where.line).toBeGreaterThan(0);
    }
    expect(() => compileOwnRules([{ file: 'e.yaml', stem: 'e', data: { rules: [] } }])).toThrow(/bad rule file/);
    expect(() => loadOwnRules(join(dir, 'missing'))).toThrow(/cannot read fingerprint rule folder/);
  });
});

ruleSourceConformance('iotclean', () => loadOwnRules(), [
  { key: 'ssh.banner', text: 'dropbear_2019.78' },
  { key: 'html_title', text: 'Aterm WG2600HP' },
  { key: 'telnet.options', text: 'do=echo,naws;will=echo,suppress-go-ahead' },
  { key: 'rtsp_header.wwwauth', text: 'Digest realm="IP Camera(C6317)"' },
]);

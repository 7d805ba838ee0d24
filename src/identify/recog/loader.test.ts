/**
 * The Recog loader: hand-made databases (written to a temporary folder by the test) for each
 * rule of Recog's semantics, then the shared copy of Recog's xml/ with every <example> run as a
 * test. The shared part skips, saying why, when no copy is found (findRecogDir).
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IotcleanError } from '../../core/errors.js';
import { createRng } from '../../core/rng.js';
import { runRecogExamples } from './examples.js';
import { compileRecog, loadRecog, matchFingerprint, recogDefaultConfidence } from './loader.js';
import { parseRecogXml, RecogFormatError } from './xml.js';
import { findRecogDir, recogMissingMessage } from './locate.js';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'iotclean-recog-'));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

let n = 0;
/** A fresh folder holding the given files. */
function folder(files: Record<string, string>): string {
  const dir = join(tmp, `db${n++}`);
  mkdirSync(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const db = (attrs: string, body: string): string => `<?xml version="1.0"?>\n<fingerprints ${attrs}>\n${body}\n</fingerprints>\n`;

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return e instanceof IotcleanError ? e.code : `not an IotcleanError: ${String(e)}`;
  }
  return undefined;
}

describe('reading Recog XML', () => {
  it('decodes entities and character references, and reads attribute tabs as spaces (XML 1.0 §3.3.3)', () => {
    const dir = folder({
      'x.xml': db(
        'matches="x.banner" protocol="x"',
        `<fingerprint pattern="^&lt;(\\w+)&gt;\ta&#9;b&#13;$">
           <description>entities</description>
           <example x.name="tag">&lt;tag&gt; a\tb&#13;</example>
           <param pos="1" name="x.name"/>
         </fingerprint>`,
      ),
    });
    const load = loadRecog(dir);
    expect(load.unconverted).toEqual([]);
    expect(load.source.match({ key: 'x.banner', text: '<tag> a\tb\r' })?.params['x.name']).toBe('tag');
    // The literal tab in the attribute is a space; the one from &#9; stays a tab.
    expect(load.source.match({ key: 'x.banner', text: '<tag>\ta\tb\r' })).toBeUndefined();
    expect(runRecogExamples(dir)).toMatchObject({ total: 1, passed: 1, failures: [] });
  });

  it('decodes base64 examples byte for byte', () => {
    const banner = Buffer.from([0xff, 0xfd, 0x18, 0x0d, 0x0a, ...Buffer.from('Router login: ')]);
    const dir = folder({
      'telnet_banners.xml': db(
        'protocol="telnet" preference=".80"',
        `<fingerprint pattern="^\\xff\\xfd\\x18\\r\\n(\\w+) login: $">
           <description>binary</description>
           <example _encoding="base64" hw.product="Router">${banner.toString('base64')}</example>
           <param pos="1" name="hw.product"/>
         </fingerprint>`,
      ),
    });
    expect(runRecogExamples(dir)).toMatchObject({ total: 1, passed: 1 });
    const load = loadRecog(dir);
    // A database without `matches` answers to its file name, and telnet_banners also to telnet.banner.
    expect([...load.source.keys].sort()).toEqual(['telnet.banner', 'telnet_banners']);
    expect(load.source.match({ key: 'telnet.banner', text: banner.toString('latin1') })).toMatchObject({ rule: 'recog:telnet_banners.xml:0', confidence: 0.8, params: { 'hw.product': 'Router', 'service.protocol': 'telnet' } });
  });

  it('refuses what is not a Recog database, with the file named', () => {
    expect(codeOf(() => loadRecog(join(tmp, 'no-such-folder')))).toBe('E_NOT_FOUND');
    expect(codeOf(() => loadRecog(folder({ 'readme.txt': 'hello' })))).toBe('E_NOT_FOUND');
    const broken = folder({ 'a.xml': '<fingerprints><fingerprint pattern="x"><description>d</fingerprints>' });
    expect(codeOf(() => loadRecog(broken))).toBe('E_RULES_FILE');
    try {
      loadRecog(broken);
    } catch (e) {
      expect((e as IotcleanError).format()).toMatch(/a\.xml:1: not a Recog fingerprint database: not well-formed XML/);
    }
    const wrong = folder({ 'a.xml': '<html><body>not recog</body></html>' });
    expect(codeOf(() => loadRecog(wrong))).toBe('E_RULES_FILE');
    try {
      loadRecog(wrong);
    } catch (e) {
      expect((e as IotcleanError).where.file).toBe(join(wrong, 'a.xml'));
      expect((e as IotcleanError).where.hint).toBeTruthy();
    }
  });
});

describe('fuzz: mutated databases', () => {
  it('parse or fail with RecogFormatError, never anything else', () => {
    const good = db(
      'matches="m" protocol="p" preference="0.5"',
      `<fingerprint pattern="^a(\\d)&amp;$" flags="REG_ICASE"><description>d</description>
         <example _encoding="base64" v="1">YTEm</example><param pos="1" name="v"/><param pos="0" name="c" value="x{v}"/></fingerprint>`,
    );
    const rng = createRng('recog-xml-fuzz');
    const noise = ['<', '>', '/', '"', '=', '&', ';', '#', 'x', ' ', '\0', '<!--', '-->', '<![CDATA[', ']]>', 'é', '&#0;', '&#x110000;'];
    let parsed = 0;
    for (let i = 0; i < 3000; i++) {
      let t = good;
      for (let k = 0, edits = 1 + rng.int(4); k < edits; k++) {
        const at = rng.int(t.length + 1);
        const cut = rng.int(3);
        t = t.slice(0, at) + (rng.int(3) === 0 ? '' : rng.pick(noise)) + t.slice(at + cut);
      }
      try {
        const d = parseRecogXml(t, 'f.xml');
        parsed++;
        expect(Array.isArray(d.fingerprints)).toBe(true);
      } catch (e) {
        expect(e).toBeInstanceOf(RecogFormatError);
      }
    }
    expect(parsed).toBeGreaterThan(100);
  });
});

describe('Recog semantics', () => {
  const dir = (): string =>
    folder({
      'a.xml': db(
        'matches="t.banner" protocol="tp" preference="0.8"',
        `<fingerprint pattern="^Foo/(\\d+)(?:\\.(\\d+))?">
           <description>Foo</description>
           <param pos="0" name="service.product" value="Foo"/>
           <param pos="1" name="service.version"/>
           <param pos="2" name="service.minor"/>
           <param pos="0" name="service.cpe23" value="cpe:/a:foo:foo:{service.version}"/>
           <param pos="0" name="service.label" value="{service.product} {service.version}.{service.minor}"/>
         </fingerprint>
         <fingerprint pattern="^Foo" certainty="0.5">
           <description>any Foo (never reached for Foo/N)</description>
           <param pos="0" name="service.product" value="Foo"/>
           <param pos="0" name="service.protocol" value="own"/>
         </fingerprint>
         <fingerprint pattern="^bar (\\w+)$" flags="REG_ICASE">
           <description>case-insensitive</description>
           <param pos="1" name="hw.product"/>
         </fingerprint>
         <fingerprint pattern="^multi.line$" flags="REG_DOT_NEWLINE">
           <description>dot-all</description>
           <param pos="0" name="hw.product" value="ML"/>
         </fingerprint>
         <fingerprint pattern="^odd$" flags="REG_FOO">
           <description>unknown flag</description>
           <param pos="0" name="hw.product" value="odd"/>
         </fingerprint>
         <fingerprint pattern="\\Gstart">
           <description>no JS equivalent</description>
           <param pos="0" name="hw.product" value="G"/>
         </fingerprint>
         <fingerprint pattern="^Opt(\\d)?$">
           <description>missing interpolated non-version value</description>
           <param pos="1" name="hw.model"/>
           <param pos="0" name="hw.product" value="Opt {hw.model}"/>
           <param pos="0" name="hw.cpe23" value="cpe:/h:opt:{hw.model}:{hw.version}"/>
         </fingerprint>`,
      ),
      'b.xml': db(
        'matches="t.banner"',
        `<fingerprint pattern="^Foo/9$">
           <description>later file: Foo/9 goes to a.xml first</description>
           <param pos="0" name="service.product" value="B"/>
         </fingerprint>
         <fingerprint pattern="^Baz$">
           <description>only here</description>
           <param pos="0" name="service.product" value="Baz"/>
         </fingerprint>`,
      ),
    });

  it('captures by position, constants with {param} filled in, "-" for a missing cpe23 version', () => {
    const { source } = loadRecog(dir());
    expect(source.match({ key: 't.banner', text: 'Foo/2.5 extra' })).toEqual({
      rule: 'recog:a.xml:0',
      source: 'recog',
      key: 't.banner',
      confidence: 0.8,
      params: { 'service.product': 'Foo', 'service.version': '2', 'service.minor': '5', 'service.cpe23': 'cpe:/a:foo:foo:2', 'service.label': 'Foo 2.5', 'service.protocol': 'tp' },
    });
    // A group that did not take part gives no param.
    expect(source.match({ key: 't.banner', text: 'Foo/2' })?.params).not.toHaveProperty('service.minor');
    const opt = source.match({ key: 't.banner', text: 'Opt' });
    expect(opt?.rule).toBe('recog:a.xml:6');
    // Recog raises on a missing non-version value; iotclean leaves that param out.
    expect(opt?.params).not.toHaveProperty('hw.product');
    expect(opt?.params['hw.cpe23']).toBeUndefined();
    expect(source.match({ key: 't.banner', text: 'Opt3' })?.params).toMatchObject({ 'hw.product': 'Opt 3', 'hw.cpe23': 'cpe:/h:opt:3:-' });
  });

  it('first match in file order across the files for a key; a param may set service.protocol itself', () => {
    const { source } = loadRecog(dir());
    expect(source.match({ key: 't.banner', text: 'Foo/9' })?.rule).toBe('recog:a.xml:0');
    expect(source.match({ key: 't.banner', text: 'Baz' })).toMatchObject({ rule: 'recog:b.xml:1', confidence: recogDefaultConfidence });
    // b.xml has no protocol: no service.protocol.
    expect(source.match({ key: 't.banner', text: 'Baz' })?.params).toEqual({ 'service.product': 'Baz' });
    const any = source.match({ key: 't.banner', text: 'Foox' });
    expect(any).toMatchObject({ rule: 'recog:a.xml:1', confidence: 0.4 });
    expect(any?.params['service.protocol']).toBe('own');
    expect(source.match({ key: 'other', text: 'Foo/1' })).toBeUndefined();
  });

  it('flags: REG_ICASE, REG_DOT_NEWLINE; an unknown flag or \\G is reported, not run', () => {
    const load = loadRecog(dir());
    expect(load.source.match({ key: 't.banner', text: 'BAR Box' })?.params['hw.product']).toBe('Box');
    expect(load.source.match({ key: 't.banner', text: 'multi\nline' })?.params['hw.product']).toBe('ML');
    expect(load.source.match({ key: 't.banner', text: 'odd' })).toBeUndefined();
    expect(load.source.match({ key: 't.banner', text: 'start' })).toBeUndefined();
    expect(load.unconverted).toEqual([
      { file: 'a.xml', index: 4, pattern: '^odd$', reason: 'unknown flag REG_FOO' },
      { file: 'a.xml', index: 5, pattern: '\\Gstart', reason: expect.stringMatching(/\\G/) as unknown as string },
    ]);
    expect(load).toMatchObject({ files: 2, fingerprints: 9 });
    expect(load.databases.map((d) => [d.file, d.fingerprints, d.converted])).toEqual([
      ['a.xml', 7, 5],
      ['b.xml', 2, 2],
    ]);
  });

  it('an example that passes alone but loses to an earlier fingerprint is counted as shadowed', () => {
    const d = folder({
      'a.xml': db('matches="k"', `<fingerprint pattern="^v"><description>any v</description><param pos="0" name="p" value="any"/></fingerprint>`),
      'b.xml': db('matches="k"', `<fingerprint pattern="^v(\\d)$"><description>v digit</description><example p="1">v1</example><param pos="1" name="p"/></fingerprint>`),
    });
    expect(runRecogExamples(d)).toMatchObject({ total: 1, passed: 1, shadowed: 1 });
  });

  it('an example that fails says why', () => {
    const d = folder({
      'a.xml': db(
        'matches="k"',
        `<fingerprint pattern="^v(\\d)$"><description>v</description>
           <example v="1">v1</example><example v="2">v1</example><example>w</example>
           <param pos="1" name="v"/></fingerprint>`,
      ),
    });
    const r = runRecogExamples(d);
    expect(r).toMatchObject({ total: 3, passed: 1 });
    expect(r.failures.map((f) => f.reason)).toEqual(['param v: expected "2", got "1"', 'v did not match']);
  });
});

const recogDir = findRecogDir();
if (!recogDir) console.log(`skipping the shared Recog tests: ${recogMissingMessage}`);

describe.skipIf(!recogDir)('the shared copy of Recog', () => {
  const dir = recogDir as string;

  it('every <example> matches its fingerprint with the params it names', () => {
    const r = runRecogExamples(dir);
    const load = loadRecog(dir);
    const converted = r.total - r.ofUnconverted;
    const rate = converted === 0 ? 0 : r.passed / converted;
    const reasons = new Map<string, number>();
    for (const u of load.unconverted) reasons.set(u.reason, (reasons.get(u.reason) ?? 0) + 1);
    console.log(
      `recog examples: ${r.passed.toLocaleString('en')}/${r.total.toLocaleString('en')} passed (${((100 * r.passed) / r.total).toFixed(2)}%; ` +
        `${(100 * rate).toFixed(2)}% of converted patterns' examples), ${load.unconverted.length} of ${load.fingerprints.toLocaleString('en')} patterns unconverted` +
        `${reasons.size ? ` (${[...reasons].map(([k, v]) => `${v}× ${k}`).join('; ')})` : ''}, ${r.shadowed} examples answered first by an earlier fingerprint`,
    );
    if (r.failures.length > 0) {
      const out = join(tmpdir(), 'iotclean-recog-example-failures.json');
      writeFileSync(out, JSON.stringify(r.failures, null, 2));
      console.log(`recog example failures listed in ${out}`);
    }
    expect(r.total).toBeGreaterThan(7000);
    // Measured on rapid7/recog 14fa1a7: 7,525/7,525, no pattern unconverted. The floor leaves room
    // for a newer copy with a construct not yet handled, which would be listed, not hidden.
    expect(rate).toBeGreaterThanOrEqual(0.995);
    expect(load.unconverted.length).toBeLessThanOrEqual(Math.ceil(load.fingerprints * 0.005));
  });

  it('the prefilter never changes an answer: first match by brute force equals match()', () => {
    const compiled = compileRecog(dir);
    const { source } = loadRecog(dir);
    const byKey = new Map<string, typeof compiled.fingerprints>();
    for (const fp of compiled.fingerprints) byKey.set(fp.key, [...(byKey.get(fp.key) ?? []), fp]);
    let checked = 0;
    const rng = createRng('recog-prefilter');
    for (const fp of compiled.fingerprints) {
      for (const ex of fp.examples) {
        // The example itself, and a variant with its case flipped (for case-insensitive prefilters).
        const flipped = [...ex.text].map((c) => (rng.int(2) ? c.toUpperCase() : c.toLowerCase())).join('');
        for (const text of [ex.text, flipped]) {
          const brute = (byKey.get(fp.key) ?? []).find((f) => matchFingerprint(f, text) !== undefined);
          expect(source.match({ key: fp.key, text })?.rule, `${fp.rule} ${JSON.stringify(text)}`).toBe(brute?.rule);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(14_000);
  });

  it('real banners of the daemons the lab and tests use', () => {
    const { source } = loadRecog(dir);
    expect(source.match({ key: 'ssh.banner', text: 'dropbear_2019.78' })?.params).toMatchObject({ 'service.product': 'Dropbear SSH', 'service.version': '2019.78' });
    expect(source.match({ key: 'http_header.server', text: 'lighttpd/1.4.59' })?.params).toMatchObject({ 'service.product': 'lighttpd', 'service.version': '1.4.59' });
    expect(source.match({ key: 'http_header.server', text: 'nginx/1.18.0' })?.params).toMatchObject({ 'service.product': 'nginx', 'service.version': '1.18.0', 'service.cpe23': 'cpe:/a:f5:nginx:1.18.0' });
    expect(source.match({ key: 'http_header.server', text: 'nginx' })?.params['service.cpe23']).toBe('cpe:/a:f5:nginx:-');
    expect(source.match({ key: 'ssh.banner', text: 'no such software' })).toBeUndefined();
  });

  it('hostile input: garbage, NUL bytes, markup and 4 KiB texts under every key return a result or nothing', () => {
    const { source } = loadRecog(dir);
    const rng = createRng('recog-hostile');
    const pieces = ['\0', '\xff', 'a', ' ', '1', '.', '/', '\r\n', '\n', '<script>alert(1)</script>', 'Server: ', 'login: ', '(', ')', '"', '\u3042', '\ud800'];
    const texts: string[] = [];
    for (let i = 0; i < 40; i++) {
      let t = '';
      const len = rng.int(2) ? rng.int(64) : 4096;
      while (t.length < len) t += rng.pick(pieces);
      texts.push(t.slice(0, len));
    }
    let matched = 0;
    for (const key of source.keys) {
      for (const text of texts) {
        const m = source.match({ key, text });
        if (m) {
          matched++;
          expect(m.rule.startsWith('recog:')).toBe(true);
          for (const v of Object.values(m.params)) expect(typeof v).toBe('string');
        }
      }
    }
    expect(matched).toBeGreaterThanOrEqual(0);
  });
});

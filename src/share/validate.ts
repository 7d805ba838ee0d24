/**
 * A vendor-free checker of the STIX 2.1 rules (OASIS STIX 2.1 and its JSON schemas,
 * oasis-open/cti-stix2-json-schemas) for the object types iotclean emits and receives: common
 * properties, identifier and timestamp formats, per-type required properties and ranges, the
 * relationship vocabulary, TLP markings, and the STIX patterning grammar (§9). It returns every
 * problem found, as "id: property: what is wrong", and never throws on bad input: the TAXII server
 * and client use it at the boundary on objects from other ISPs.
 */

/** identifier.json: `type--UUID` (RFC 4122 version 1-5, variant 10xx). */
export const identifierPattern = /^[a-z][a-z0-9-]+[a-z0-9]--[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-5][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$/;
/** timestamp.json: RFC 3339, UTC with Z. */
const timestampPattern = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?Z$/;
/** created/modified "MUST be precise to the nearest millisecond". */
const millisPattern = /\.\d{3,}Z$/;
const typePattern = /^-?[a-zA-Z0-9]+(-[a-zA-Z0-9]+)*-?$/;
const customPropertyPattern = /^[a-z0-9_]{3,250}$/;

/** STIX 2.1 §6: the cyber-observable types (no created/modified; ids UUIDv5). */
export const scoTypes = new Set([
  'artifact', 'autonomous-system', 'directory', 'domain-name', 'email-addr', 'email-message', 'file', 'ipv4-addr', 'ipv6-addr', 'mac-addr', 'mutex',
  'network-traffic', 'process', 'software', 'url', 'user-account', 'windows-registry-key', 'x509-certificate',
]);
const sdoTypes = new Set([
  'attack-pattern', 'campaign', 'course-of-action', 'grouping', 'identity', 'incident', 'indicator', 'infrastructure', 'intrusion-set', 'location',
  'malware', 'malware-analysis', 'note', 'observed-data', 'opinion', 'report', 'threat-actor', 'tool', 'vulnerability',
]);

/** Properties each type may carry besides custom ones (common ones first). */
const commonProps = ['type', 'spec_version', 'id', 'created_by_ref', 'created', 'modified', 'revoked', 'labels', 'confidence', 'lang', 'external_references', 'object_marking_refs', 'granular_markings', 'extensions'];
const typeProps: Record<string, readonly string[]> = {
  identity: ['name', 'description', 'roles', 'identity_class', 'sectors', 'contact_information'],
  infrastructure: ['name', 'description', 'infrastructure_types', 'aliases', 'kill_chain_phases', 'first_seen', 'last_seen'],
  indicator: ['name', 'description', 'indicator_types', 'pattern', 'pattern_type', 'pattern_version', 'valid_from', 'valid_until', 'kill_chain_phases'],
  sighting: ['description', 'first_seen', 'last_seen', 'count', 'sighting_of_ref', 'observed_data_refs', 'where_sighted_refs', 'summary'],
  relationship: ['relationship_type', 'description', 'source_ref', 'target_ref', 'start_time', 'stop_time'],
  'marking-definition': ['name', 'definition_type', 'definition'],
  'ipv4-addr': ['value', 'resolves_to_refs', 'belongs_to_refs', 'defanged'],
};

/**
 * §5.1 / Appendix B: relationship types per source type, and the target types each allows
 * ("SHOULD"; this checker holds iotclean's objects to it). `*sco` stands for any SCO type.
 */
const relationshipVocab: Record<string, Record<string, readonly string[]>> = {
  indicator: {
    indicates: ['attack-pattern', 'campaign', 'infrastructure', 'intrusion-set', 'malware', 'threat-actor', 'tool'],
    'based-on': ['observed-data'],
  },
  infrastructure: {
    'communicates-with': ['infrastructure', 'ipv4-addr', 'ipv6-addr', 'domain-name', 'url'],
    'consists-of': ['infrastructure', 'observed-data', '*sco'],
    controls: ['infrastructure', 'malware'],
    delivers: ['malware'],
    has: ['vulnerability'],
    hosts: ['tool', 'malware'],
    'located-at': ['location'],
    uses: ['infrastructure'],
  },
};
const anyRelationship = new Set(['derived-from', 'duplicate-of', 'related-to']);

const tlpIds: Record<string, string> = {
  'marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9': 'white',
  'marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da': 'green',
  'marking-definition--f88d31f6-486f-44da-b317-01333bde0b82': 'amber',
  'marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed': 'red',
};
/**
 * TLP 2.0 as the OASIS CTI TC published it (a property extension, not definition_type). Written out
 * here again rather than imported from the producer, so a wrong id there fails this check.
 */
const tlp2Extension = 'extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d';
const tlp2Ids: Record<string, string> = {
  'marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487': 'clear',
  'marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb': 'green',
  'marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421': 'amber',
  'marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003': 'amber+strict',
  'marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1': 'red',
};

/** True for an RFC 3339 UTC timestamp naming a real instant (no 2026-02-30, no 25:00). */
export function isStixTimestamp(v: unknown): v is string {
  if (typeof v !== 'string') return false;
  const m = timestampPattern.exec(v);
  if (!m) return false;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const t = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  // Leap seconds (ss = 60) are allowed by RFC 3339.
  return t.getUTCFullYear() === y && t.getUTCMonth() === mo - 1 && t.getUTCDate() === d && h < 24 && mi < 60 && s <= 60;
}

const typeOfId = (id: string) => id.slice(0, id.indexOf('--'));

/** Every problem of one STIX 2.1 object (empty when it is valid). */
export function validateStixObject(o: unknown): string[] {
  if (o === null || typeof o !== 'object' || Array.isArray(o)) return ['object: not a JSON object'];
  const x = o as Record<string, unknown>;
  const name = typeof x.id === 'string' ? x.id : typeof x.type === 'string' ? `(${x.type})` : '(object)';
  const errs: string[] = [];
  const err = (prop: string, msg: string) => errs.push(`${name}: ${prop}: ${msg}`);
  const type = x.type;
  if (typeof type !== 'string' || !typePattern.test(type) || type.length < 3 || type.length > 250) {
    err('type', 'required: a lowercase type name of 3-250 characters');
    return errs;
  }
  if (type === 'bundle') return validateStixBundle(o);
  const isSco = scoTypes.has(type);
  const isMarking = type === 'marking-definition';
  const isSro = type === 'relationship' || type === 'sighting';
  const isSdo = sdoTypes.has(type);
  if (!isSco && !isMarking && !isSro && !isSdo && !type.startsWith('x-')) err('type', `"${type}" is not a STIX 2.1 object type (custom types start with x-)`);

  const idOk = typeof x.id === 'string' && identifierPattern.test(x.id);
  if (!idOk) err('id', 'required: type--UUID (RFC 4122)');
  else if (typeOfId(x.id as string) !== type) err('id', `must start with "${type}--"`);

  if (isSco) {
    if (x.spec_version !== undefined && x.spec_version !== '2.1') err('spec_version', 'must be "2.1" when present');
  } else if (x.spec_version !== '2.1') err('spec_version', 'required: "2.1"');

  const ts = (prop: string, required: boolean, millis = false) => {
    const v = x[prop];
    if (v === undefined) {
      if (required) err(prop, 'required: an RFC 3339 UTC timestamp');
      return;
    }
    if (!isStixTimestamp(v)) err(prop, `"${String(v)}" is not an RFC 3339 timestamp ending in Z`);
    else if (millis && !millisPattern.test(v)) err(prop, 'must be precise to the millisecond (.sssZ)');
  };
  const notBefore = (later: string, earlier: string, strict = false) => {
    const a = x[later];
    const b = x[earlier];
    if (!isStixTimestamp(a) || !isStixTimestamp(b)) return;
    const d = Date.parse(a) - Date.parse(b);
    if (strict ? d <= 0 : d < 0) err(later, `must be ${strict ? 'later than' : 'at or after'} ${earlier}`);
  };
  const ref = (prop: string, v: unknown, types?: readonly string[]) => {
    if (typeof v !== 'string' || !identifierPattern.test(v)) return err(prop, 'must be an identifier type--UUID');
    if (types && !types.includes(typeOfId(v))) err(prop, `must refer to ${types.join(' or ')}, not ${typeOfId(v)}`);
  };
  const refs = (prop: string, required: boolean, types?: readonly string[]) => {
    const v = x[prop];
    if (v === undefined) return required ? err(prop, 'required: a non-empty list of identifiers') : undefined;
    if (!Array.isArray(v) || v.length === 0) return err(prop, 'must be a non-empty list of identifiers');
    for (const r of v) ref(prop, r, types);
  };
  const str = (prop: string, required: boolean) => {
    const v = x[prop];
    if (v === undefined) return required ? err(prop, 'required: a string') : undefined;
    if (typeof v !== 'string' || v === '') err(prop, 'must be a non-empty string');
  };
  const strList = (prop: string, required: boolean) => {
    const v = x[prop];
    if (v === undefined) return required ? err(prop, 'required: a non-empty list of strings') : undefined;
    if (!Array.isArray(v) || v.length === 0 || v.some((s) => typeof s !== 'string' || s === '')) err(prop, 'must be a non-empty list of strings');
  };
  const int = (prop: string, min: number, max: number) => {
    const v = x[prop];
    if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)) err(prop, `must be a whole number from ${min} to ${max}`);
  };

  if (!isSco) {
    ts('created', true, true);
    if (!isMarking) {
      ts('modified', true, true);
      notBefore('modified', 'created');
    }
    if (x.created_by_ref !== undefined) ref('created_by_ref', x.created_by_ref, ['identity']);
    if (x.revoked !== undefined && typeof x.revoked !== 'boolean') err('revoked', 'must be true or false');
    strList('labels', false);
    int('confidence', 0, 100);
  }
  refs('object_marking_refs', false, ['marking-definition']);

  const known = new Set([...commonProps, ...(typeProps[type] ?? [])]);
  for (const k of Object.keys(x)) {
    if (!known.has(k) && typeProps[type] !== undefined && !customPropertyPattern.test(k)) err(k, 'custom property names are 3-250 of a-z, 0-9 and _');
  }

  switch (type) {
    case 'identity':
      str('name', true);
      str('identity_class', false);
      strList('sectors', false);
      break;
    case 'infrastructure':
      str('name', true);
      strList('infrastructure_types', false);
      ts('first_seen', false);
      ts('last_seen', false);
      notBefore('last_seen', 'first_seen');
      break;
    case 'indicator': {
      str('name', false);
      strList('indicator_types', false);
      str('pattern', true);
      str('pattern_type', true);
      ts('valid_from', true);
      ts('valid_until', false);
      notBefore('valid_until', 'valid_from', true);
      if (x.pattern_type === 'stix' && typeof x.pattern === 'string') for (const e of checkStixPattern(x.pattern)) err('pattern', e);
      break;
    }
    case 'sighting':
      if (x.sighting_of_ref === undefined) err('sighting_of_ref', 'required: the identifier of the SDO sighted');
      else {
        ref('sighting_of_ref', x.sighting_of_ref);
        const t = typeof x.sighting_of_ref === 'string' ? typeOfId(x.sighting_of_ref) : '';
        if (t && (scoTypes.has(t) || t === 'relationship' || t === 'sighting')) err('sighting_of_ref', `must refer to an SDO, not ${t}`);
      }
      int('count', 0, 999_999_999);
      ts('first_seen', false);
      ts('last_seen', false);
      notBefore('last_seen', 'first_seen');
      refs('where_sighted_refs', false, ['identity', 'location']);
      refs('observed_data_refs', false, ['observed-data']);
      if (x.summary !== undefined && typeof x.summary !== 'boolean') err('summary', 'must be true or false');
      break;
    case 'relationship': {
      const rt = x.relationship_type;
      if (typeof rt !== 'string' || !/^[a-z0-9]+(-[a-z0-9]+)*$/.test(rt)) err('relationship_type', 'required: lowercase words joined by hyphens');
      ref('source_ref', x.source_ref);
      ref('target_ref', x.target_ref);
      if (typeof rt === 'string' && typeof x.source_ref === 'string' && typeof x.target_ref === 'string' && !anyRelationship.has(rt)) {
        const src = typeOfId(x.source_ref);
        const tgt = typeOfId(x.target_ref);
        for (const [end, t] of [['source_ref', src], ['target_ref', tgt]] as const) {
          if (t === 'relationship' || t === 'sighting' || t === 'bundle' || t === 'marking-definition') err(end, `a relationship cannot connect ${t}`);
        }
        const vocab = relationshipVocab[src];
        if (vocab) {
          const targets = vocab[rt];
          if (!targets) err('relationship_type', `"${rt}" is not a relationship of ${src} (allowed: ${[...Object.keys(vocab), ...anyRelationship].join(', ')})`);
          else if (!targets.includes(tgt) && !(targets.includes('*sco') && scoTypes.has(tgt))) err('target_ref', `${src} ${rt} must target ${targets.join(', ').replace('*sco', 'a cyber-observable')}, not ${tgt}`);
        }
      }
      ts('start_time', false);
      ts('stop_time', false);
      notBefore('stop_time', 'start_time', true);
      break;
    }
    case 'marking-definition': {
      if (x.definition_type !== undefined || x.definition !== undefined) {
        str('definition_type', true);
        if (x.definition === null || typeof x.definition !== 'object') err('definition', 'required with definition_type: an object');
      } else if (x.extensions === undefined) err('definition', 'required: definition_type and definition, or extensions');
      if (x.definition_type === 'tlp') {
        const level = (x.definition as Record<string, unknown> | null)?.tlp;
        if (typeof x.id === 'string' && tlpIds[x.id] !== level) err('id', `a TLP marking must use the spec's id for TLP:${String(level).toUpperCase()}`);
      }
      const tlp2 = (x.extensions as Record<string, Record<string, unknown>> | undefined)?.[tlp2Extension];
      if (tlp2 !== undefined) {
        const level = tlp2?.tlp_2_0;
        if (tlp2?.extension_type !== 'property-extension') err('extensions', 'the TLP 2.0 extension is a property-extension');
        if (typeof x.id === 'string' && tlp2Ids[x.id] !== level) err('id', `a TLP 2.0 marking must use the published id for TLP:${String(level).toUpperCase()}`);
        if (x.name !== `TLP:${String(level).toUpperCase()}`) err('name', `TLP 2.0 marking name must be TLP:${String(level).toUpperCase()}`);
      } else if (typeof x.id === 'string' && tlp2Ids[x.id] !== undefined) err('extensions', 'a TLP 2.0 marking id needs the TLP 2.0 extension');
      break;
    }
    case 'ipv4-addr': {
      const v = x.value;
      const m = typeof v === 'string' ? /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(\/(\d{1,2}))?$/.exec(v) : null;
      if (!m || m.slice(1, 5).some((p) => Number(p) > 255 || (p.length > 1 && p.startsWith('0'))) || (m[6] !== undefined && Number(m[6]) > 32)) err('value', 'required: an IPv4 address or CIDR');
      if (idOk && (x.id as string)[(x.id as string).indexOf('--') + 16] !== '5') err('id', 'an SCO id should be UUIDv5 (STIX 2.1 §2.9)');
      break;
    }
  }
  return errs;
}

/** Every problem of a bundle and its objects; with `closed`, every *_ref(s) must resolve inside the bundle. */
export function validateStixBundle(b: unknown, options: { readonly closed?: boolean } = {}): string[] {
  if (b === null || typeof b !== 'object' || Array.isArray(b)) return ['bundle: not a JSON object'];
  const x = b as Record<string, unknown>;
  const errs: string[] = [];
  if (x.type !== 'bundle') errs.push('bundle: type: must be "bundle"');
  if (typeof x.id !== 'string' || !identifierPattern.test(x.id) || !x.id.startsWith('bundle--')) errs.push('bundle: id: required: bundle--UUID');
  if (x.spec_version !== undefined) errs.push('bundle: spec_version: a STIX 2.1 bundle has none (that was STIX 2.0)');
  if (x.objects === undefined) return errs;
  if (!Array.isArray(x.objects) || x.objects.length === 0) return [...errs, 'bundle: objects: must be a non-empty list when present'];
  const versions = new Set<string>();
  const ids = new Set<string>();
  for (const o of x.objects) {
    errs.push(...(o !== null && typeof o === 'object' && (o as { type?: unknown }).type === 'bundle' ? ['bundle: objects: a bundle cannot hold a bundle'] : validateStixObject(o)));
    const r = o as Record<string, unknown>;
    if (typeof r?.id === 'string') {
      const v = `${r.id}@${String(r.modified ?? '')}`;
      if (versions.has(v)) errs.push(`${r.id}: the same version twice in one bundle`);
      versions.add(v);
      ids.add(r.id);
    }
  }
  if (options.closed) {
    for (const o of x.objects as Record<string, unknown>[]) {
      for (const [k, v] of Object.entries(o ?? {})) {
        const list = k.endsWith('_refs') && Array.isArray(v) ? v : k.endsWith('_ref') ? [v] : [];
        for (const r of list) if (typeof r === 'string' && !ids.has(r)) errs.push(`${String(o.id)}: ${k}: ${r} is not in the bundle`);
      }
    }
  }
  return errs;
}

// ---- STIX patterning (§9): a tokenizer and a recursive-descent recogniser ------------------------

type Tok = { k: 'lb' | 'rb' | 'lp' | 'rp' | 'comma' | 'colon' | 'op' | 'word' | 'str' | 'num' | 'typed'; v: string; at: number };

const ops = ['<=', '>=', '!=', '=', '<', '>'];

function tokenize(p: string): Tok[] | string {
  const out: Tok[] = [];
  let i = 0;
  while (i < p.length) {
    const c = p[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const single: Record<string, Tok['k']> = { '[': 'lb', ']': 'rb', '(': 'lp', ')': 'rp', ',': 'comma', ':': 'colon' };
    if (single[c]) {
      out.push({ k: single[c]!, v: c, at: i++ });
      continue;
    }
    const op = ops.find((o) => p.startsWith(o, i));
    if (op) {
      out.push({ k: 'op', v: op, at: i });
      i += op.length;
      continue;
    }
    // t'…' timestamp, h'…' hex, b'…' base64, and plain '…' strings with \' and \\ escapes.
    const prefix = /[thb]/.test(c) && p[i + 1] === "'" ? c : '';
    if (c === "'" || prefix) {
      const start = i;
      i += prefix ? 2 : 1;
      let s = '';
      for (;;) {
        if (i >= p.length) return `unterminated string at ${start}`;
        const d = p[i]!;
        if (d === '\\') {
          const e = p[i + 1];
          if (e !== "'" && e !== '\\') return `bad escape \\${e ?? ''} at ${i}`;
          s += e;
          i += 2;
        } else if (d === "'") {
          i++;
          break;
        } else (s += d), i++;
      }
      if (prefix === 't' && !isStixTimestamp(s)) return `t'${s}' is not an RFC 3339 timestamp`;
      if (prefix === 'h' && !/^([0-9a-fA-F]{2})*$/.test(s)) return `h'${s}' is not hex`;
      if (prefix === 'b' && !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) return `b'${s}' is not base64`;
      out.push({ k: prefix ? 'typed' : 'str', v: s, at: start });
      continue;
    }
    const num = /^-?\d+(\.\d+)?/.exec(p.slice(i));
    if (num && (c === '-' || /\d/.test(c))) {
      out.push({ k: 'num', v: num[0], at: i });
      i += num[0].length;
      continue;
    }
    const word = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(p.slice(i));
    if (word) {
      out.push({ k: 'word', v: word[0], at: i });
      i += word[0].length;
      // Path components after '.' are words too; '.' itself is consumed with them.
      continue;
    }
    if (c === '.' || c === '*') {
      out.push({ k: 'word', v: c, at: i++ });
      continue;
    }
    return `unexpected "${c}" at ${i}`;
  }
  return out;
}

const compareOps = new Set([...ops, 'IN', 'LIKE', 'MATCHES', 'ISSUBSET', 'ISSUPERSET']);

/** Problems of a STIX pattern (empty when it parses); object types and paths are checked for form, not looked up. */
export function checkStixPattern(pattern: string): string[] {
  const toks = tokenize(pattern);
  if (typeof toks === 'string') return [toks];
  let i = 0;
  const peek = () => toks[i];
  const isWord = (w: string) => peek()?.k === 'word' && peek()!.v === w;
  const fail = (what: string): never => {
    throw new Error(`${what} at ${peek()?.at ?? 'end'}`);
  };
  const expect = (k: Tok['k'], what: string) => (peek()?.k === k ? toks[i++]! : fail(`expected ${what}`));

  const objectPath = () => {
    const t = expect('word', 'an object type').v;
    if (!/^[a-z0-9]+(-[a-z0-9]+)*$/.test(t) || t.length < 3) fail(`"${t}" is not an object type`);
    expect('colon', '":" after the object type');
    const first = expect('word', 'a property name').v;
    if (!/^[a-z0-9_]+$/.test(first)) fail(`"${first}" is not a property name`);
    for (;;) {
      if (isWord('.')) {
        i++;
        const comp = expect('word', 'a property after "."').v;
        if (!/^[a-z0-9_]+$/.test(comp)) fail(`"${comp}" is not a property name`);
      } else if (peek()?.k === 'lb') {
        i++;
        const idx = peek();
        if (idx && ((idx.k === 'word' && idx.v === '*') || (idx.k === 'num' && /^\d+$/.test(idx.v)))) i++;
        else fail('expected a list index or *');
        expect('rb', '"]" after the list index');
      } else break;
    }
  };
  const literal = () => {
    const t = peek();
    if (t && (t.k === 'str' || t.k === 'num' || t.k === 'typed' || (t.k === 'word' && (t.v === 'true' || t.v === 'false')))) i++;
    else fail('expected a constant');
  };
  const propTest = () => {
    if (peek()?.k === 'lp') {
      i++;
      comparisonOr();
      expect('rp', '")"');
      return;
    }
    if (isWord('EXISTS')) {
      i++;
      objectPath();
      return;
    }
    objectPath();
    if (isWord('NOT')) i++;
    const op = peek();
    if (!op || !((op.k === 'op' && compareOps.has(op.v)) || (op.k === 'word' && compareOps.has(op.v)))) fail('expected a comparison operator');
    i++;
    if (op!.v === 'IN') {
      expect('lp', '"(" after IN');
      literal();
      while (peek()?.k === 'comma') (i++, literal());
      expect('rp', '")" closing the IN list');
    } else {
      literal();
      if ((op!.v === 'LIKE' || op!.v === 'MATCHES') && toks[i - 1]!.k !== 'str') fail(`${op!.v} needs a string`);
    }
  };
  const comparisonAnd = () => {
    propTest();
    while (isWord('AND')) (i++, propTest());
  };
  const comparisonOr = (): void => {
    comparisonAnd();
    while (isWord('OR')) (i++, comparisonAnd());
  };
  const qualifiers = () => {
    for (;;) {
      if (isWord('WITHIN')) {
        i++;
        expect('num', 'a number after WITHIN');
        if (!isWord('SECONDS')) fail('expected SECONDS');
        i++;
      } else if (isWord('REPEATS')) {
        i++;
        expect('num', 'a number after REPEATS');
        if (!isWord('TIMES')) fail('expected TIMES');
        i++;
      } else if (isWord('START')) {
        i++;
        if (expect('typed', "t'…' after START") && !isWord('STOP')) fail('expected STOP');
        i++;
        expect('typed', "t'…' after STOP");
      } else break;
    }
  };
  const observation = (): void => {
    if (peek()?.k === 'lp') {
      i++;
      observationOr();
      expect('rp', '")"');
    } else {
      expect('lb', '"[" opening an observation expression');
      comparisonOr();
      expect('rb', '"]" closing the observation expression');
    }
    qualifiers();
  };
  const observationOr = (): void => {
    observation();
    while (isWord('AND') || isWord('OR') || isWord('FOLLOWEDBY')) (i++, observation());
  };
  try {
    observationOr();
    if (i !== toks.length) fail('unexpected text after the pattern');
    return [];
  } catch (e) {
    return [(e as Error).message];
  }
}

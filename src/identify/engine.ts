/**
 * The identification engine: every rule source over every input an endpoint's observations offer
 * (src/identify/inputs.ts), the first match per source and input, combined into one Identification
 * per endpoint, then merged across a host's endpoints.
 *
 * Layers. A match speaks for the device (hw.vendor / hw.product / hw.version), the OS (os.*) and/or
 * the service (service.*). Each layer is decided on its own: the claim of the highest-confidence
 * match wins (ties: the earlier source, then the earlier input). The type comes from device.type
 * or Recog's hw.device / os.device (src/identify/device-types.ts), preferring matches that agree
 * with the device decided, and the catalogue's type when the model is catalogued.
 *
 * Confidence of a decided layer (documented here because Identification.confidence cites it):
 *   support    S = 1 − Π(1 − cᵢ) over the claims that agree with the winner (the winner included),
 *   opposition O = 1 − Π(1 − cⱼ) over the claims that contradict it (another maker, or another model
 *                  name of the same maker; a descriptive product such as "Home Gateway" names no model
 *                  and contradicts none),
 *   confidence   = S × (1 − O / 2).
 * Agreeing evidence (noisy-OR) raises confidence, never past 1; an equally strong contradiction
 * halves it, so two 0.9 rules naming different makers give 0.495: decided, but not at high
 * confidence. A rule counts once however many inputs it matched. The decided model is the first
 * agreeing one the catalogue knows, else the first naming a model. The flat
 * fields' confidence is that of the layer they come from (device, else service, else OS); a
 * device's flat version is its firmware when the OS layer is the maker's own, else its hardware
 * version.
 *
 * Across a host (mergeHost) each endpoint's device is one claim, weighed with the same formula at
 * that endpoint's device confidence; the host row takes the decided device, and every endpoint row
 * keeps its own service and OS and takes the host's device, type, catalogue entry and confidence.
 *
 * Unknown stays null: no layer is filled from anything but a rule's params, and a service alone
 * ("lighttpd") never implies a device.
 */
import type { CatalogueEntry, DeviceType, Identification, Identity, Observation } from '../core/records.js';
import { IotcleanError } from '../core/errors.js';
import type { IdentifyInput, RuleMatch, RuleParams, RuleSource } from './source.js';
import { inputsOf } from './inputs.js';
import { emptyCatalogue, type Catalogue } from './catalogue.js';
import { deviceTypeOf } from './device-types.js';
import { formatCpe23, toCpe23, type CpePart } from './cpe.js';
import { modelKey, vendorKey } from './names.js';

export interface IdentifierOptions {
  /** Rule sources, in priority order (ties between equal confidences go to the earlier). */
  readonly sources: readonly RuleSource[];
  readonly catalogue?: Catalogue;
  /** Clock for identifiedAt (tests pin it). */
  readonly now?: () => string;
  /** Remembered (source, key, text) results per source; banners repeat enormously across a survey. 0 disables. */
  readonly cacheEntries?: number;
}

/** Result of merging a host's endpoints. */
export interface MergedHost {
  /** The host row (port null): the device decided across every port. */
  readonly host: Identification;
  /** Each endpoint's row, with its own service layer and the host's device layer. */
  readonly endpoints: Identification[];
}

export interface Identifier {
  readonly sources: readonly RuleSource[];
  readonly catalogue: Catalogue;
  /** One endpoint's identification from all observations made at it (one per module tried). */
  identifyEndpoint(observations: readonly Observation[]): Identification;
  /** Evidence merged across one host's endpoint identifications (same ip). */
  mergeHost(endpoints: readonly Identification[]): MergedHost;
}

/** How sure one layer of a row is, and which rule decided it. */
interface LayerEvidence {
  readonly confidence: number;
  readonly rule: string | null;
}

interface Evidence {
  readonly device: LayerEvidence | null;
  readonly type: LayerEvidence | null;
  readonly os: LayerEvidence | null;
  /**
   * The CPE the OS layer decided. Usually part o, but firmware built on a vendor SDK is named as
   * an application by NVD (cpe:2.3:a:realtek:rtl819x_jungle_software_development_kit), and the
   * host row must keep it without picking up the endpoint's service CPE.
   */
  readonly osCpe?: string | null;
}

/** One match with the order it was found in. */
interface Found {
  readonly m: RuleMatch;
  readonly order: number;
}

type Layer = 'hw' | 'os' | 'service';
const cpePart: Readonly<Record<Layer, CpePart>> = { hw: 'h', os: 'o', service: 'a' };

/** A decided layer. */
interface Decision {
  readonly identity: Identity;
  readonly confidence: number;
  readonly rule: string;
  readonly params: RuleParams;
  readonly layer: Layer;
}

interface Claim {
  readonly vendor: string | null;
  readonly product: string | null;
  readonly version: string | null;
  readonly confidence: number;
  readonly rule: string;
  readonly params: RuleParams;
}

/** A model name has a digit ("WG2600HP", "DS216j"); "Home Gateway" or "Network Camera" only describes. */
function modelLike(product: string | null): boolean {
  return product !== null && /\d/.test(product);
}

/**
 * Two claims about one thing agree unless they name different makers, or two different model
 * names (a descriptive product such as "Network Camera" contradicts no model).
 */
function agrees(a: Claim, b: Claim): boolean {
  const va = vendorKey(a.vendor);
  const vb = vendorKey(b.vendor);
  if (va && vb && va !== vb) return false;
  if (!modelLike(a.product) || !modelLike(b.product)) return true;
  const pa = modelKey(a.product);
  const pb = modelKey(b.product);
  return pa.includes(pb) || pb.includes(pa);
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/**
 * Decide among claims (sorted best first): the winner, filled in from agreeing claims, with the
 * confidence formula above. The product is the first agreeing one the catalogue knows (`known`),
 * else the first that names a model, else the first given.
 */
function decide(claims: readonly Claim[], known?: (vendor: string | null, product: string) => boolean): { claim: Claim; confidence: number } | null {
  const winner = claims[0];
  if (!winner) return null;
  let vendor = winner.vendor;
  let notS = 1;
  let notO = 1;
  const agreeing: Claim[] = [];
  for (const c of claims) {
    if (c === winner || agrees(winner, c)) {
      notS *= 1 - c.confidence;
      vendor ??= c.vendor;
      agreeing.push(c);
    } else {
      notO *= 1 - c.confidence;
    }
  }
  const withProduct = agreeing.filter((c) => c.product !== null);
  const chosen =
    (known && withProduct.find((c) => known(vendor, c.product as string))) ?? withProduct.find((c) => modelLike(c.product)) ?? withProduct[0];
  const product = chosen?.product ?? null;
  // A version only carries over from a claim about the same product (or about no product in particular).
  let version: string | null = null;
  for (const c of [chosen ?? winner, ...agreeing]) {
    if (c.version !== null && (product === null || c.product === null || modelKey(c.product) === modelKey(product))) {
      version = c.version;
      break;
    }
  }
  const confidence = round3((1 - notS) * (1 - (1 - notO) / 2));
  return { claim: { ...winner, vendor, product, version }, confidence };
}

/** Param names per layer, built once (this runs for every match of every observation). */
const layerKeys: Readonly<Record<Layer, { readonly vendor: string; readonly product: string; readonly version: string; readonly cpe: string }>> = {
  hw: { vendor: 'hw.vendor', product: 'hw.product', version: 'hw.version', cpe: 'hw.cpe23' },
  os: { vendor: 'os.vendor', product: 'os.product', version: 'os.version', cpe: 'os.cpe23' },
  service: { vendor: 'service.vendor', product: 'service.product', version: 'service.version', cpe: 'service.cpe23' },
};

function claimsOf(found: readonly Found[], layer: Layer): Claim[] {
  const keys = layerKeys[layer];
  const out: Claim[] = [];
  for (const f of found) {
    const p = f.m.params;
    const vendor = p[keys.vendor] ?? null;
    const product = p[keys.product] ?? null;
    if (vendor === null && product === null) continue;
    out.push({ vendor, product, version: p[keys.version] ?? null, confidence: f.m.confidence, rule: f.m.rule, params: p });
  }
  return out;
}

function byConfidence<T extends { readonly confidence: number }>(items: T[]): T[] {
  // Array.prototype.sort is stable: equal confidences keep source/input order.
  return items.sort((a, b) => b.confidence - a.confidence);
}

function decideLayer(found: readonly Found[], layer: Layer, known?: (vendor: string | null, product: string) => boolean): Decision | null {
  const d = decide(byConfidence(claimsOf(found, layer)), known);
  if (!d) return null;
  const c = d.claim;
  return { identity: { vendor: c.vendor, product: c.product, version: c.version }, confidence: d.confidence, rule: c.rule, params: c.params, layer };
}

/** The type claimed by one match, if any: iotclean's device.type, else Recog's hw.device / os.device. */
function typeClaim(p: RuleParams): DeviceType | null {
  return deviceTypeOf(p['device.type']) ?? deviceTypeOf(p['hw.device']) ?? deviceTypeOf(p['os.device']);
}

/** Replace "{param}" in a CPE template; a param the match lacks becomes ANY (empty URI component). */
function interpolate(template: string, params: RuleParams, identity: Identity, layer: Layer): string {
  return template.replace(/\{([^{}]+)\}/g, (_m, name: string) => {
    if (name === `${layer}.version`) return identity.version ?? '';
    if (name === `${layer}.product`) return identity.product ?? '';
    if (name === `${layer}.vendor`) return identity.vendor ?? '';
    return params[name] ?? '';
  });
}

/** Bound CPE names by their inputs; the same few thousand recur across a survey. */
const cpeMemo = new Map<string, string | null>();
const cpeMemoCap = 20_000;

function cpeOf(d: Decision | null): string | null {
  if (!d) return null;
  const template = d.params[layerKeys[d.layer].cpe];
  const { vendor, product, version } = d.identity;
  const key = `${d.layer}\u0000${template ?? ''}\u0000${vendor ?? ''}\u0000${product ?? ''}\u0000${version ?? ''}`;
  const hit = cpeMemo.get(key);
  if (hit !== undefined) return hit;
  let name: string | null = null;
  if (template !== undefined) name = toCpe23(interpolate(template, d.params, d.identity, d.layer));
  if (name === null && vendor && product) name = formatCpe23({ part: cpePart[d.layer], vendor, product, version });
  // A template may name other params too; only memoise names that depend on the key alone.
  if (template === undefined || !/\{(?!(?:hw|os|service)\.(?:vendor|product|version)\})/.test(template)) {
    if (cpeMemo.size >= cpeMemoCap) cpeMemo.clear();
    cpeMemo.set(key, name);
  }
  return name;
}

const noIdentity = null;

/**
 * Bounded memo of one source's answers, in two generations: when the young map is full it becomes
 * the old one and the oldest is dropped, and a hit in the old map is carried into the young one, so
 * texts that keep coming back (one firmware's banner in many homes) survive the one-off ones.
 */
class MatchCache {
  // Per input key, then text: no key + text string is built per lookup.
  private young = new Map<string, Map<string, RuleMatch | null>>();
  private old = new Map<string, Map<string, RuleMatch | null>>();
  private size = 0;
  constructor(private readonly cap: number) {}
  match(source: RuleSource, input: IdentifyInput): RuleMatch | undefined {
    // Long texts (bodies, banners with per-device content) rarely repeat; keeping them would only
    // cost memory: at most 2 × cap texts of 512 characters per source.
    if (this.cap === 0 || input.text.length > 512) return source.match(input);
    let hit = this.young.get(input.key)?.get(input.text);
    if (hit === undefined) {
      hit = this.old.get(input.key)?.get(input.text);
      if (hit === undefined) hit = source.match(input) ?? null;
      this.set(input.key, input.text, hit);
    }
    return hit ?? undefined;
  }
  private set(key: string, text: string, value: RuleMatch | null): void {
    if (this.size >= this.cap) {
      this.old = this.young;
      this.young = new Map();
      this.size = 0;
    }
    let texts = this.young.get(key);
    if (!texts) {
      texts = new Map();
      this.young.set(key, texts);
    }
    texts.set(text, value);
    this.size++;
  }
}

/** Build an identifier over rule sources and a catalogue. */
export function createIdentifier(options: IdentifierOptions): Identifier {
  const sources = options.sources;
  const catalogue = options.catalogue ?? emptyCatalogue;
  let lastMs = -1;
  let lastIso = '';
  // One ISO string per millisecond, not per identification.
  const now =
    options.now ??
    ((): string => {
      const t = Date.now();
      if (t !== lastMs) {
        lastMs = t;
        lastIso = new Date(t).toISOString();
      }
      return lastIso;
    });
  const caches = sources.map(() => new MatchCache(options.cacheEntries ?? 10_000));

  function collect(observations: readonly Observation[]): Found[] {
    const found: Found[] = [];
    let order = 0;
    for (const o of observations) {
      for (const input of inputsOf(o)) {
        for (let s = 0; s < sources.length; s++) {
          const source = sources[s];
          if (!source || !source.keys.has(input.key)) continue;
          const m = caches[s]?.match(source, input);
          // One rule is one piece of evidence, however many inputs it matched (the raw
          // WWW-Authenticate and its short form, the same banner on two observations).
          if (m && !found.some((f) => f.m.rule === m.rule)) found.push({ m, order: order++ });
        }
      }
    }
    return found;
  }

  function decideType(found: readonly Found[], device: Decision | null, entry: CatalogueEntry | null): { type: DeviceType | null; rule: string | null; confidence: number } {
    if (entry) return { type: entry.type, rule: device?.rule ?? null, confidence: device?.confidence ?? 0 };
    const deviceClaim: Claim | null = device ? { ...device.identity, confidence: device.confidence, rule: device.rule, params: device.params } : null;
    let best: { type: DeviceType; rule: string; confidence: number } | null = null;
    for (const f of found) {
      const t = typeClaim(f.m.params);
      if (t === null) continue;
      if (deviceClaim) {
        const p = f.m.params;
        const c: Claim = { vendor: p['hw.vendor'] ?? p['os.vendor'] ?? null, product: p['hw.product'] ?? null, version: null, confidence: f.m.confidence, rule: f.m.rule, params: p };
        if (!agrees(deviceClaim, c)) continue;
      }
      if (!best || f.m.confidence > best.confidence) best = { type: t, rule: f.m.rule, confidence: f.m.confidence };
    }
    return best ?? { type: null, rule: null, confidence: 0 };
  }

  /**
   * Per-layer confidence and rule of the rows this identifier made, which mergeHost weighs: a row
   * only carries the flat fields' confidence, and a type-only claim ("DVR" realm) has its own.
   * Rows from elsewhere (the store) fall back to the flat confidence and rule.
   */
  const evidence = new WeakMap<Identification, Evidence>();
  const evidenceOf = (e: Identification): Evidence =>
    evidence.get(e) ?? {
      device: e.device ? { confidence: e.confidence, rule: e.rule } : null,
      type: e.type !== null ? { confidence: e.confidence, rule: e.rule } : null,
      os: e.os ? { confidence: e.confidence, rule: e.rule } : null,
    };

  /**
   * An endpoint row's OS and component CPEs when its evidence is not at hand (a row read back from
   * the store): the row's names are [device, os, service] (identifyEndpoint), so
   * everything but the hardware names and, when a service was decided, the last name.
   */
  const platformCpes = (e: Identification): string[] => {
    const names = e.cpe.filter((c) => !c.startsWith('cpe:2.3:h:'));
    return e.service !== null ? names.slice(0, -1) : names;
  };

  function identifyEndpoint(observations: readonly Observation[]): Identification {
    const first = observations[0];
    if (!first) throw new IotcleanError('E_INTERNAL', 'identifyEndpoint needs at least one observation');
    const found = collect(observations);
    let device = decideLayer(found, 'hw', (vendor, product) => catalogue.lookup(vendor, product) !== null);
    const os = decideLayer(found, 'os');
    const service = decideLayer(found, 'service');
    const entry = device ? catalogue.lookup(device.identity.vendor, device.identity.product) : null;
    if (device && entry) {
      // The catalogue's spelling, so statistics count one model once.
      device = { ...device, identity: { ...device.identity, vendor: entry.vendor, product: entry.model } };
    }
    const typed = decideType(found, device, entry);
    const flat = device ?? service ?? os;
    const recognised = observations.find((o) => o.recognised && o.module !== 'generic') ?? observations.find((o) => o.recognised);
    const rules: string[] = [];
    for (const f of found) if (!rules.includes(f.m.rule)) rules.push(f.m.rule);
    const osCpe = cpeOf(os);
    const cpe = [cpeOf(device), osCpe, cpeOf(service)].filter((c): c is string => c !== null);
    const row: Identification = {
      kind: 'identification',
      surveyId: first.surveyId,
      endpointId: first.endpointId,
      ip: first.ip,
      port: first.port,
      protocol: recognised?.module ?? null,
      type: typed.type,
      vendor: flat?.identity.vendor ?? null,
      product: flat?.identity.product ?? null,
      version: device ? firmwareVersion(device.identity, os?.identity ?? null) : (flat?.identity.version ?? null),
      device: device?.identity ?? noIdentity,
      os: os?.identity ?? noIdentity,
      service: service?.identity ?? noIdentity,
      cpe,
      confidence: flat ? flat.confidence : typed.confidence,
      rule: flat ? flat.rule : typed.rule,
      rules,
      catalogue: entry,
      identifiedAt: now(),
    };
    evidence.set(row, {
      device: device ? { confidence: device.confidence, rule: device.rule } : null,
      type: typed.type !== null ? { confidence: typed.confidence, rule: typed.rule } : null,
      os: os ? { confidence: os.confidence, rule: os.rule } : null,
      osCpe,
    });
    return row;
  }

  function mergeHost(endpoints: readonly Identification[]): MergedHost {
    const first = endpoints[0];
    if (!first) throw new IotcleanError('E_INTERNAL', 'mergeHost needs at least one endpoint');
    // Each endpoint whose flat fields are its device is one piece of evidence about the device.
    const deviceClaims: (Claim & { readonly from: Identification })[] = [];
    for (const e of endpoints) {
      const ev = evidenceOf(e).device;
      if (!e.device || !ev) continue;
      // Two ports decided by the same rule on the same device (the web UI on 80 and 81) are one
      // piece of evidence, not two.
      if (ev.rule !== null && deviceClaims.some((c) => c.rule === ev.rule && modelKey(c.product) === modelKey(e.device?.product) && vendorKey(c.vendor) === vendorKey(e.device?.vendor))) continue;
      deviceClaims.push({ ...e.device, confidence: ev.confidence, rule: ev.rule ?? '', params: {}, from: e });
    }
    byConfidence(deviceClaims);
    const d = decide(deviceClaims);
    const winner = deviceClaims[0]?.from ?? null;
    const device: Identity | null = d ? { vendor: d.claim.vendor, product: d.claim.product, version: d.claim.version } : null;
    const entry = device ? (catalogue.lookup(device.vendor, device.product) ?? winner?.catalogue ?? null) : null;
    // The host's type: the catalogue's, else the deciding endpoint's, else the surest typed endpoint
    // that does not contradict the device.
    let type: DeviceType | null = entry?.type ?? winner?.type ?? null;
    let typeConfidence = d?.confidence ?? 0;
    let typeRule = winner ? (evidenceOf(winner).device?.rule ?? winner.rule) : null;
    if (type === null) {
      for (const e of endpoints) {
        const ev = evidenceOf(e).type;
        if (e.type === null || !ev) continue;
        if (device && e.device && !agrees({ ...device, confidence: 0, rule: '', params: {} }, { ...e.device, confidence: 0, rule: '', params: {} })) continue;
        if (type === null || ev.confidence > typeConfidence) {
          type = e.type;
          typeConfidence = ev.confidence;
          typeRule = ev.rule;
        }
      }
    }
    let osFrom: Identification | null = null;
    let osConfidence = 0;
    for (const e of endpoints) {
      const ev = evidenceOf(e).os;
      if (e.os && ev && (!osFrom || ev.confidence > osConfidence)) {
        osFrom = e;
        osConfidence = ev.confidence;
      }
    }
    // The deciding endpoint's hardware CPE when it named the merged model, else one bound from the merged device.
    let hwCpe = winner && modelKey(winner.device?.product) === modelKey(device?.product) ? winner.cpe.filter((c) => c.startsWith('cpe:2.3:h:')) : [];
    if (hwCpe.length === 0 && device?.vendor && device.product) hwCpe = [formatCpe23({ part: 'h', vendor: device.vendor, product: device.product, version: device.version })];
    const decidedOsCpe = osFrom ? evidence.get(osFrom)?.osCpe : undefined;
    const osCpe = decidedOsCpe ? [decidedOsCpe] : osFrom ? platformCpes(osFrom) : [];
    // The OS layer other endpoints named for a different product (an SDK under the web server's
    // firmware, say) is kept too: vulnerability matching needs every platform a host runs.
    const productKey = (c: string) => c.split(':').slice(2, 5).join(':');
    for (const e of endpoints) {
      const other = evidence.get(e)?.osCpe;
      if (other && !osCpe.some((c) => productKey(c) === productKey(other)) && !hwCpe.some((c) => productKey(c) === productKey(other))) osCpe.push(other);
    }
    const allRules: string[] = [];
    for (const e of endpoints) for (const r of e.rules) if (!allRules.includes(r)) allRules.push(r);
    const confidence = device ? (d?.confidence ?? 0) : type !== null ? typeConfidence : 0;
    const rule = device ? (winner ? (evidenceOf(winner).device?.rule ?? winner.rule) : null) : typeRule;
    const host: Identification = {
      kind: 'identification',
      surveyId: first.surveyId,
      endpointId: null,
      ip: first.ip,
      port: null,
      protocol: null,
      type,
      vendor: device?.vendor ?? null,
      product: device?.product ?? null,
      version: device ? firmwareVersion(device, osFrom?.os ?? null) : null,
      device,
      os: osFrom?.os ?? null,
      service: null,
      cpe: [...hwCpe, ...osCpe],
      confidence: type === null && !device ? 0 : confidence,
      rule: type === null && !device ? null : rule,
      rules: allRules,
      catalogue: entry,
      identifiedAt: now(),
    };
    const merged = endpoints.map((e): Identification => {
      if (!device && type === null) return e;
      if (!device) {
        if (e.type !== null) return e;
        const typedRow: Identification = { ...e, type, rules: withRule(e.rules, typeRule), rule: e.rule ?? typeRule, confidence: e.device || e.service || e.os ? e.confidence : typeConfidence };
        evidence.set(typedRow, { ...evidenceOf(e), type: { confidence: typeConfidence, rule: typeRule } });
        return typedRow;
      }
      const row: Identification = {
        ...e,
        type,
        vendor: device.vendor,
        product: device.product,
        version: firmwareVersion(device, e.os ?? osFrom?.os ?? null),
        device,
        cpe: [...hwCpe, ...e.cpe.filter((c) => !c.startsWith('cpe:2.3:h:'))],
        confidence: host.confidence,
        rule: host.rule,
        rules: withRule(e.rules, host.rule),
        catalogue: entry,
      };
      evidence.set(row, { device: { confidence: host.confidence, rule: host.rule }, type: { confidence: host.confidence, rule: host.rule }, os: evidenceOf(e).os });
      return row;
    });
    return { host, endpoints: merged };
  }

  return { sources, catalogue, identifyEndpoint, mergeHost };
}

/**
 * The flat version of a device: its firmware when the OS layer is the maker's own (Yamaha's
 * "Rev.14.01.38", airOS), else the hardware version the rules found ("V2.5"), else null.
 */
function firmwareVersion(device: Identity, os: Identity | null): string | null {
  if (os?.version && os.vendor && vendorKey(os.vendor) === vendorKey(device.vendor)) return os.version;
  return device.version;
}

function withRule(rules: readonly string[], rule: string | null): readonly string[] {
  return rule === null || rules.includes(rule) ? rules : [...rules, rule];
}

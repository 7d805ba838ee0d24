/** `iotclean share export | serve | pull`: C&C lists as STIX 2.1 / TAXII 2.1 / MISP. */
import { readFile, writeFile } from 'node:fs/promises';
import { IotcleanError } from '../../core/errors.js';
import { cidrRange, parseIpv4, type Ipv4Range } from '../../core/ip.js';
import { loadAccess } from '../../share/access.js';
import { iotcleanNamespace, uuidv5 } from '../../share/ids.js';
import { buildMispEvent } from '../../share/misp.js';
import { exportCollection, fileCandidateSource, publishBundle } from '../../share/publish.js';
import { storeCandidateSource } from '../../share/source.js';
import { buildBundle } from '../../share/stix.js';
import { receivedEndpoints } from '../../share/received.js';
import { pullCollection } from '../../share/taxii-client.js';
import { createTaxiiApp, serveTaxii } from '../../share/taxii-server.js';
import { defaultShareOptions, parseTlp, tlpLevels, type CandidateSource, type ShareCounts, type ShareOptions } from '../../share/types.js';
import { isStixTimestamp } from '../../share/validate.js';
import type { Store } from '../../store/store.js';
import { defineCommand, type Command, type Output } from '../command.js';
import { stopOnSignal, storeOption, withStore } from '../context.js';

/** What an ISP chooses to share: the same flags for export and serve. */
const choiceOptions = {
  identity: { type: 'string', value: 'NAME', description: 'the sharing organisation (the STIX identity and MISP Orgc)', default: 'iotclean' },
  tlp: { type: 'string', value: 'LEVEL', description: `TLP 2.0 marking of everything shared: ${tlpLevels.join(', ')} (white is read as clear); a TLP 1.0 marking no looser is added`, default: 'amber' },
  'min-score': { type: 'number', value: 'X', min: 0, max: 1, description: 'share only candidates scoring at least this', default: defaultShareOptions.minScore },
  'alive-only': { type: 'boolean', description: 'leave out endpoints whose last liveness check failed (by default they are shared, expired)', default: false },
  exclude: { type: 'string', value: 'LIST', list: true, description: 'comma-separated CIDRs never shared, e.g. your own subscribers\' prefixes' },
  since: { type: 'string', value: 'TIME', description: 'only candidates seen or re-checked at or after this RFC 3339 time' },
  'ttl-days': { type: 'number', value: 'N', min: 0.01, description: 'days an indicator stays valid after its last sign of life, unless liveness says otherwise', default: 7 },
  candidates: { type: 'string', value: 'FILE', description: 'candidates as JSON or JSON Lines (iotclean flows detect --json); default: the flows stage\'s store' },
} as const;

function parseExclude(list: string | undefined): Ipv4Range[] {
  if (list === undefined) return [];
  return list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const [ip = '', len = '32', extra] = s.split('/');
      const n = parseIpv4(ip);
      if (n === undefined || extra !== undefined || !/^\d{1,2}$/.test(len) || Number(len) > 32) {
        throw new IotcleanError('E_ARGS', `--exclude: "${s}" is not an IPv4 address or CIDR`, { hint: 'e.g. --exclude 203.0.113.0/24,198.51.100.0/22' });
      }
      return cidrRange(n, Number(len));
    });
}

type ChoiceFlags = {
  identity: string;
  tlp: string;
  'min-score': number;
  'alive-only': boolean;
  exclude?: string | undefined;
  since?: string | undefined;
  'ttl-days': number;
  candidates?: string | undefined;
};

function shareOptions(o: ChoiceFlags): ShareOptions {
  if (o.since !== undefined && !isStixTimestamp(o.since)) throw new IotcleanError('E_ARGS', `--since "${o.since}" is not an RFC 3339 UTC time`, { hint: 'e.g. --since 2026-11-01T00:00:00Z' });
  const tlp = parseTlp(o.tlp);
  if (tlp === undefined) throw new IotcleanError('E_ARGS', `--tlp "${o.tlp}" is not a TLP level`, { hint: `one of ${tlpLevels.join(', ')}` });
  return {
    identity: o.identity,
    tlp,
    minScore: o['min-score'],
    aliveOnly: o['alive-only'],
    exclude: parseExclude(o.exclude),
    ...(o.since !== undefined ? { since: o.since } : {}),
    ttlMs: Math.round(o['ttl-days'] * 86_400_000),
  };
}

async function candidateSource(o: ChoiceFlags, store: Store | undefined): Promise<CandidateSource> {
  if (o.candidates !== undefined) return fileCandidateSource(o.candidates);
  const s = store ? storeCandidateSource(store) : undefined;
  if (!s) throw new IotcleanError('E_ARGS', 'no candidates: the flows stage\'s store is not available here', { hint: 'give --candidates FILE (the output of iotclean flows detect --json)' });
  return s;
}

const countsText = (c: ShareCounts) => {
  const skipped = Object.entries(c.skipped).filter(([, n]) => n > 0);
  return `${c.shared} of ${c.candidates} candidate(s) shared (${c.expired} expired)${skipped.length ? `; left out: ${skipped.map(([k, n]) => `${k} ${n}`).join(', ')}` : ''}`;
};

export const shareExportCommand = defineCommand({
  name: 'export',
  description: 'Write the C&C list as a STIX 2.1 bundle or a MISP event (stdout, or --out FILE); --publish also adds it to the served TAXII collection.',
  options: {
    format: { type: 'string', choices: ['stix', 'misp'], description: 'output format', default: 'stix' },
    out: { type: 'string', value: 'FILE', description: 'file to write (default: stdout)' },
    'misp-objects': { type: 'boolean', description: 'MISP: ip-port objects instead of ip-dst|port attributes', default: false },
    publish: { type: 'boolean', description: 'STIX: also add the objects to this ISP\'s TAXII collection in the store (what share serve serves)', default: false },
    ...choiceOptions,
    ...storeOption,
  },
  async run(o, _args, out: Output) {
    const options = shareOptions(o);
    const needStore = o.publish || o.candidates === undefined;
    const work = async (store: Store | undefined) => {
      const source = await candidateSource(o, store);
      const entries = source.list({ minScore: options.minScore, ...(options.since !== undefined ? { since: options.since } : {}) });
      if (o.format === 'misp') {
        if (o.publish) throw new IotcleanError('E_ARGS', '--publish goes with --format stix (TAXII serves STIX)');
        const { event, counts } = await buildMispEvent(entries, options, { objects: o['misp-objects'] });
        return { text: JSON.stringify(event, null, 2), counts, published: undefined };
      }
      const { bundle, counts } = await buildBundle(entries, options);
      let published: { added: number; collection: string } | undefined;
      if (o.publish && store) {
        const col = await store.share.ensureCollection(exportCollection(options.identity), Date.now());
        const r = await publishBundle(store.share, col.id, bundle, Date.now());
        published = { added: r.added, collection: col.id };
      }
      return { text: JSON.stringify(bundle, null, 2), counts, published };
    };
    const r = needStore ? await withStore(o.db, work) : await work(undefined);
    const summary = `${countsText(r.counts)}${r.published ? `; ${r.published.added} new object version(s) published to collection ${r.published.collection}` : ''}`;
    if (o.out !== undefined) {
      await writeFile(o.out, `${r.text}\n`);
      out.result(`${o.out}: ${summary}`, { file: o.out, format: o.format, ...r.counts, ...(r.published ? { published: r.published } : {}) });
    } else {
      // The document itself is the output; the summary goes to stderr so a pipe gets clean JSON.
      process.stdout.write(`${r.text}\n`);
      if (!out.json) process.stderr.write(`${summary}\n`);
    }
  },
});

export const shareServeCommand = defineCommand({
  name: 'serve',
  description: 'Serve this ISP\'s C&C list over TAXII 2.1 (127.0.0.1:9780 by default) to the ISPs in --tokens; republished every --refresh seconds; Ctrl-C stops it.',
  options: {
    host: { type: 'string', value: 'ADDR', description: 'address to listen on', default: '127.0.0.1' },
    port: { type: 'number', value: 'N', integer: true, min: 0, max: 65535, description: 'port to listen on (0: any free port)', default: 9780 },
    tokens: { type: 'string', value: 'FILE', description: 'JSON: {"tokens":[{"isp":"isp-b","token_sha256":"…","read":["c2"],"write":["inbox-isp-b"]}]} (collections by id or alias)' },
    refresh: { type: 'number', value: 'SECONDS', integer: true, min: 0, description: 'republish the list this often (0: only at start)', default: 300 },
    ...choiceOptions,
    ...storeOption,
  },
  async run(o, _args, out: Output) {
    if (o.tokens === undefined) throw new IotcleanError('E_ARGS', 'share serve needs --tokens FILE: who may read and write which collection', { hint: '{"tokens":[{"isp":"isp-b","token_sha256":"<sha256 of its token>","read":["c2"]}]}' });
    const access = await loadAccess(o.tokens);
    const options = shareOptions(o);
    const stop = stopOnSignal();
    try {
      return await withStore(o.db, async (store) => {
        const own = await store.share.ensureCollection(exportCollection(options.identity), Date.now());
        // Collections named in write grants that do not exist yet are inboxes other ISPs fill.
        for (const g of new Set(access.entries.flatMap((e) => e.write))) {
          if (g === '*' || (await store.share.collection(g))) continue;
          const isUuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(g);
          await store.share.ensureCollection({ id: isUuid ? g : uuidv5(iotcleanNamespace, `taxii-collection:${options.identity}:${g}`), alias: isUuid ? null : g, title: `inbox ${g}`, description: 'STIX objects other ISPs send', kind: 'inbox' }, Date.now());
        }
        const publish = async () => {
          const source = await candidateSource(o, store);
          const { bundle, counts } = await buildBundle(source.list({ minScore: options.minScore }), options);
          const r = await publishBundle(store.share, own.id, bundle, Date.now());
          out.info(`published: ${countsText(counts)}; ${r.added} new object version(s)`);
        };
        await publish();
        const server = await serveTaxii(createTaxiiApp({ share: store.share, access, title: `${options.identity} TAXII server` }), { host: o.host, port: o.port });
        out.result(`TAXII 2.1 on ${server.discoveryUrl} (API root ${server.apiRootUrl}); collection ${own.id} (alias c2); ${access.entries.length} ISP(s) in ${o.tokens}; Ctrl-C stops it`, {
          discovery: server.discoveryUrl,
          api_root: server.apiRootUrl,
          collection: own.id,
          isps: access.entries.map((e) => e.isp),
        });
        const timer = o.refresh > 0 ? setInterval(() => void publish().catch((e: unknown) => out.info(`republish failed: ${e instanceof Error ? e.message : String(e)}`)), o.refresh * 1000) : undefined;
        await new Promise<void>((resolve) => (stop.signal.aborted ? resolve() : stop.signal.addEventListener('abort', () => resolve(), { once: true })));
        if (timer) clearInterval(timer);
        await server.close();
        return 0;
      });
    } finally {
      stop.done();
    }
  },
});

export const sharePullCommand = defineCommand({
  name: 'pull',
  description: 'Pull another ISP\'s TAXII 2.1 collection (URL: its discovery …/taxii2/ or API root) and merge it into the store; the next pull continues where this one stopped.',
  positionals: [{ name: 'url', description: 'discovery or API root URL' }],
  options: {
    collection: { type: 'string', value: 'ID', description: 'the collection id to pull' },
    'token-file': { type: 'string', value: 'FILE', description: 'file holding the bearer token that ISP gave you (first line)' },
    'added-after': { type: 'string', value: 'TIME', description: 'pull what was added after this RFC 3339 time instead of after the remembered cursor' },
    'page-size': { type: 'number', value: 'N', integer: true, min: 1, max: 10000, description: 'objects asked per page', default: 500 },
    ...storeOption,
  },
  async run(o, [url], out: Output) {
    if (o.collection === undefined) throw new IotcleanError('E_ARGS', 'share pull needs --collection ID', { hint: 'the collection ids are in GET <api root>/collections/' });
    if (o['token-file'] === undefined) throw new IotcleanError('E_ARGS', 'share pull needs --token-file FILE', { hint: 'a file holding the bearer token the serving ISP gave you' });
    let token: string;
    try {
      token = (await readFile(o['token-file'], 'utf8')).split('\n')[0]!.trim();
    } catch (e) {
      throw new IotcleanError('E_SHARE_FILE', `cannot read the token: ${(e as Error).message}`, { file: o['token-file'] });
    }
    if (!token) throw new IotcleanError('E_SHARE_FILE', 'the token file is empty', { file: o['token-file'] });
    const r = await withStore(o.db, (store) =>
      pullCollection(store.share, {
        url: url!,
        collection: o.collection!,
        token,
        pageSize: o['page-size'],
        ...(o['added-after'] !== undefined ? { addedAfter: o['added-after'] } : {}),
        onPage: (p, n) => out.info(`page ${p}: ${n} object(s)`),
      }),
    );
    out.result(
      `${r.source}: ${r.objects} object(s) in ${r.pages} page(s): ${r.added} new, ${r.updated} newer version(s), ${r.unchanged} already held${r.invalid ? `, ${r.invalid} refused as invalid (${r.problems[0]})` : ''}; next pull continues after ${r.addedAfter ?? 'the start'}`,
      { source: r.source, pages: r.pages, objects: r.objects, added: r.added, updated: r.updated, unchanged: r.unchanged, invalid: r.invalid, problems: r.problems, added_after: r.addedAfter },
    );
  },
});

export const shareReceivedCommand = defineCommand({
  name: 'received',
  description: 'List the C&C endpoints other ISPs shared with us (merged by share pull), with who shared them and until when they are valid.',
  options: {
    all: { type: 'boolean', description: 'include expired and revoked indicators', default: false },
    ...storeOption,
  },
  async run(o, _args, out: Output) {
    const rows = await withStore(o.db, (store) => receivedEndpoints(store.share), { readOnly: true });
    const shown = o.all ? rows : rows.filter((r) => r.valid);
    out.result(
      shown.length
        ? shown.map((r) => `${r.ip}:${r.port ?? '*'}/${r.proto ?? '*'}  ${r.valid ? 'valid' : 'expired'} until ${r.validUntil ?? '(open)'}  by ${r.sharedBy ?? '?'}  confidence ${r.confidence ?? '-'}  TLP:${(r.tlp ?? 'unmarked').toUpperCase()}`).join('\n')
        : `no ${o.all ? '' : 'valid '}shared endpoints (${rows.length} received in all)`,
      shown.map((r) => ({ ip: r.ip, port: r.port, proto: r.proto, valid: r.valid, valid_from: r.validFrom, valid_until: r.validUntil, shared_by: r.sharedBy, confidence: r.confidence, tlp: r.tlp, indicator: r.indicator, modified: r.modified })),
    );
  },
});

export const shareCommands: Command<never>[] = [shareExportCommand, shareServeCommand, sharePullCommand, shareReceivedCommand] as unknown as Command<never>[];

export const shareCommand = defineCommand({
  name: 'share',
  description: 'Share C&C lists: share export | serve | pull (STIX 2.1 bundles, a TAXII 2.1 server and client, MISP JSON).',
  subcommands: shareCommands as never[],
});

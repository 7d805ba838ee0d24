/** `iotclean flows generate | detect | train | live`: lab flows, C&C detection, its model, liveness re-checks. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IotcleanError } from '../../core/errors.js';
import { parseIpv4, type Ipv4Range } from '../../core/ip.js';
import { detectC2 } from '../../flows/detect/detect.js';
import { endpointKey } from '../../flows/detect/features.js';
import { recordC2Findings } from '../../flows/detect/findings.js';
import { builtinModel, loadModel, train } from '../../flows/detect/model.js';
import { closeDuck, openDuck, openFlowsDir } from '../../flows/detect/relation.js';
import { defaultPolicy, runDueChecks } from '../../flows/liveness.js';
import type { C2Candidate } from '../../flows/types.js';
import { evaluate, labelledSet, slidingWindows } from '../../lab/flows/evaluate.js';
import { generateLabFlows, writeLabFlows, type LabFlowsTruth } from '../../lab/flows/generate.js';
import { compileScope, defaultScope, ISP_HEADER, loadIspTable, loadScope, parseIspTable, parseTarget } from '../../scope/index.js';
import type { Store } from '../../store/store.js';
import { defineCommand, type Command } from '../command.js';
import { storeOption, withStore } from '../context.js';

const fmt = (n: number) => n.toLocaleString('en');

/** Parse "FROM..TO" (ISO 8601 times or dates, either side may be empty for "from the start"/"to the end"). */
export function parseWindow(text: string): { fromMs?: number; toMs?: number } {
  const m = /^([^.]*)\.\.([^.]*(?:\.\d+)?[^.]*)$/.exec(text.trim());
  if (!m) throw new IotcleanError('E_ARGS', `--window "${text}" is not FROM..TO`, { hint: 'e.g. --window 2026-11-02T00:00Z..2026-11-03T00:00Z (either side may be empty)' });
  const side = (s: string, name: string) => {
    if (s.trim() === '') return undefined;
    const t = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(s.trim()) ? `${s.trim()}T00:00:00Z` : s.trim());
    if (Number.isNaN(t)) throw new IotcleanError('E_ARGS', `--window ${name} "${s}" is not an ISO 8601 time`, { hint: 'e.g. 2026-11-02T06:00Z' });
    return t;
  };
  const fromMs = side(m[1]!, 'start');
  const toMs = side(m[2]!, 'end');
  if (fromMs !== undefined && toMs !== undefined && toMs <= fromMs) throw new IotcleanError('E_ARGS', `--window ends before it starts: ${text}`);
  return { ...(fromMs !== undefined ? { fromMs } : {}), ...(toMs !== undefined ? { toMs } : {}) };
}

/** Parse CIDR/range list text into ranges (the internal address space). */
function parseRanges(items: readonly string[], what: string): Ipv4Range[] {
  return items.map((t) => {
    const p = parseTarget(t.trim());
    if (!p.ok) throw new IotcleanError('E_ARGS', `${what} "${t}" is not an IPv4 address, CIDR or range`, { hint: 'e.g. 127.16.0.0/12' });
    return p.range;
  });
}

/** A list of IPv4 addresses, one a line, # comments. */
export function readAddressList(file: string): number[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new IotcleanError('E_ARGS', `cannot read ${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const out: number[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) return;
    const n = parseIpv4(line);
    if (n === undefined) throw new IotcleanError('E_ARGS', `"${line}" is not an IPv4 address`, { file, line: i + 1, hint: 'one dotted-quad address per line' });
    out.push(n);
  });
  return out;
}

/** Internal addresses with weak-credential or infected findings in the store. */
async function knownBadFromStore(store: Store): Promise<number[]> {
  const out: number[] = [];
  for (const kind of ['weak-credential', 'infected'] as const) {
    for await (const f of store.findings.list({ kind })) {
      const n = parseIpv4(f.ip);
      if (n !== undefined) out.push(n);
    }
  }
  return out;
}

function readTruth(file: string): LabFlowsTruth {
  try {
    const t = JSON.parse(readFileSync(file, 'utf8')) as LabFlowsTruth;
    if (t.kind !== 'lab-flows-truth') throw new Error('not a lab flows truth file');
    return t;
  } catch (e) {
    throw new IotcleanError('E_ARGS', `cannot read truth ${file}: ${e instanceof Error ? e.message : String(e)}`, { hint: 'the truth.json `iotclean flows generate` wrote' });
  }
}

/** Open `flows` from --flows DIR or --duckdb FILE; the caller closes it. */
async function openSource(o: { flows?: string | undefined; duckdb?: string | undefined }) {
  if ((o.flows === undefined) === (o.duckdb === undefined)) throw new IotcleanError('E_ARGS', 'give exactly one of --flows DIR and --duckdb FILE', { hint: 'e.g. iotclean flows detect --flows lab-flows --json' });
  if (o.duckdb !== undefined) {
    if (!existsSync(o.duckdb)) throw new IotcleanError('E_ARGS', `DuckDB file ${o.duckdb} does not exist`);
    const d = await openDuck(o.duckdb, { readOnly: true });
    try {
      await d.conn.run('SELECT start_ms FROM flows LIMIT 0');
    } catch {
      closeDuck(d);
      throw new IotcleanError('E_ARGS', `${o.duckdb} has no relation named flows`, { hint: 'the table or view must have the columns of src/flows/types.ts flowColumns' });
    }
    return d;
  }
  const d = await openDuck();
  try {
    await openFlowsDir(d.conn, o.flows!);
  } catch (e) {
    closeDuck(d);
    throw e;
  }
  return d;
}

/** The candidate as the JSON line of `flows detect --json` (the contract's names). */
export function candidateJson(c: C2Candidate): Record<string, unknown> {
  return { ip: c.ip, port: c.port, proto: c.proto, score: c.score, clients: c.clients, known_bad_clients: c.knownBadClients, first_seen: c.firstSeen, last_seen: c.lastSeen, window: c.window, evidence: c.evidence };
}

export const flowsGenerateCommand = defineCommand({
  name: 'generate',
  description: 'Write lab flow records (Parquet under DIR/date=…/hour=…/) with bots, moving C&C servers, DDoS and ordinary traffic; the truth apart.',
  options: {
    out: { type: 'string', value: 'DIR', description: 'folder for the Parquet files, known-bad.txt and lab.json' },
    truth: { type: 'string', value: 'FILE', description: 'truth JSON (default DIR/truth.json; keep it elsewhere for blind runs)' },
    seed: { type: 'number', value: 'N', integer: true, min: 0, max: 2 ** 31, description: 'seed (same seed, same flows)', default: 1 },
    days: { type: 'number', value: 'N', min: 0.25, max: 60, description: 'days of traffic', default: 3 },
    flows: { type: 'number', value: 'N', integer: true, min: 10_000, max: 200_000_000, description: 'flows to write (about)', default: 1_000_000 },
    hosts: { type: 'number', value: 'N', integer: true, min: 500, max: 1_000_000, description: 'internal subscriber addresses', default: 20_000 },
    'known-bad': { type: 'string', value: 'FILE', description: 'internal addresses the survey/darknet stages marked (weak-credential or infected); some become known bots' },
    duckdb: { type: 'string', value: 'FILE', description: 'also keep the flows as table `flows` in this DuckDB file' },
  },
  async run(o, _args, out) {
    if (!o.out) throw new IotcleanError('E_ARGS', 'flows generate needs --out DIR', { hint: 'e.g. iotclean flows generate --out lab-flows --seed 2' });
    const knownBad = o['known-bad'] !== undefined ? readAddressList(o['known-bad']) : undefined;
    const d = await openDuck(o.duckdb ?? ':memory:');
    try {
      const truth = await generateLabFlows(d.conn, { seed: o.seed, days: o.days, flows: o.flows, hosts: o.hosts, ...(knownBad ? { knownBad } : {}) });
      const truthFile = o.truth ?? join(o.out, 'truth.json');
      await writeLabFlows(d.conn, o.out, truth, truthFile);
      out.result(
        `wrote ${fmt(truth.flows)} flows (${Object.entries(truth.byClass).map(([k, v]) => `${k} ${fmt(v)}`).join(', ')}) to ${o.out}; ${truth.c2.length} C&C endpoints, ${truth.bots.length} bots; truth in ${truthFile}`,
        { out: o.out, truth: truthFile, flows: truth.flows, c2: truth.c2.length, bots: truth.bots.length, by_class: truth.byClass },
      );
    } finally {
      closeDuck(d);
    }
  },
});

export const flowsDetectCommand = defineCommand({
  name: 'detect',
  description: 'Find likely C&C servers in flow records (graph propagation from known bots + learned model); candidates are stored, --findings adds c2-server findings.',
  options: {
    flows: { type: 'string', value: 'DIR', description: 'folder of flow Parquet files (date=…/hour=…/*.parquet)' },
    duckdb: { type: 'string', value: 'FILE', description: 'a DuckDB database holding a table or view `flows`' },
    window: { type: 'string', value: 'FROM..TO', description: 'time window (ISO 8601; default: all flows)' },
    internal: { type: 'string', value: 'LIST', list: true, description: 'the ISP\'s own address space, CIDRs (default: DIR/lab.json of a lab folder)' },
    'known-bad': { type: 'string', value: 'FILE', description: 'internal addresses known bad, one a line (added to the store\'s weak-credential and infected findings)' },
    model: { type: 'string', value: 'FILE', description: 'model JSON from flows train (default: the built-in one)' },
    'min-score': { type: 'number', value: 'X', min: 0, max: 1, description: 'report from this score (default: the model\'s threshold)' },
    findings: { type: 'boolean', description: 'also store each candidate as a c2-server finding', default: false },
    isps: { type: 'string', value: 'FILE', description: 'prefix→ISP table for --findings' },
    truth: { type: 'string', value: 'FILE', description: 'lab truth: print precision and recall (on stderr with --json)' },
    ...storeOption,
  },
  async run(o, _args, out) {
    if ((o.flows === undefined) === (o.duckdb === undefined)) throw new IotcleanError('E_ARGS', 'give exactly one of --flows DIR and --duckdb FILE', { hint: 'e.g. iotclean flows detect --flows lab-flows --json' });
    const win = o.window !== undefined ? parseWindow(o.window) : {};
    const model = o.model !== undefined ? loadModel(o.model) : builtinModel();
    let internal: Ipv4Range[];
    if (o.internal) internal = parseRanges(o.internal.split(','), '--internal');
    else if (o.flows !== undefined && existsSync(join(o.flows, 'lab.json'))) internal = parseRanges((JSON.parse(readFileSync(join(o.flows, 'lab.json'), 'utf8')) as { internal: string[] }).internal, 'lab.json internal');
    else throw new IotcleanError('E_ARGS', 'flows detect needs --internal CIDRs (the ISP\'s own address space)', { hint: 'e.g. --internal 127.16.0.0/12' });
    const isps = o.isps !== undefined ? await loadIspTable(o.isps) : parseIspTable(ISP_HEADER.join(','), '(no --isps)');
    const d = await openSource(o);
    try {
      const r = await withStore(o.db, async (store) => {
        let knownBad = [...(await knownBadFromStore(store)), ...(o['known-bad'] !== undefined ? readAddressList(o['known-bad']) : [])];
        if (!knownBad.length && o.flows !== undefined && existsSync(join(o.flows, 'known-bad.txt'))) {
          knownBad = readAddressList(join(o.flows, 'known-bad.txt'));
          out.info(`no weak-credential or infected findings in the store and no --known-bad: using ${join(o.flows, 'known-bad.txt')} (${fmt(knownBad.length)} addresses)`);
        }
        if (!knownBad.length) out.info('no known-bad hosts: graph propagation has nothing to start from, only the flow features count');
        let window: { fromMs: number; toMs: number } | undefined;
        if (win.fromMs !== undefined || win.toMs !== undefined) {
          const ext = await d.conn.runAndReadAll('SELECT min(start_ms), max(start_ms) FROM flows');
          const row = ext.getRows()[0] ?? [];
          window = { fromMs: win.fromMs ?? Number(row[0] ?? 0), toMs: win.toMs ?? Number(row[1] ?? 0) + 1 };
        }
        const res = await detectC2(d.conn, { internal, knownBad, model, ...(window ? { window } : {}), ...(o['min-score'] !== undefined ? { minScore: o['min-score'] } : {}) });
        const detectedAt = new Date().toISOString();
        const ids = await store.flows.upsert(res.candidates, detectedAt);
        const findingIds = o.findings ? await recordC2Findings(store, res.candidates, ids, isps) : [];
        return { res, ids, findings: new Set(findingIds).size };
      });
      const { res } = r;
      let evalText = '';
      if (o.truth !== undefined) {
        const e = evaluate(res, readTruth(o.truth));
        evalText = `precision ${e.precision.toFixed(3)}, recall ${e.recall.toFixed(3)} (${e.tp} of ${e.detectable} detectable C&C endpoints, ${e.fp} false positive(s)${e.fp ? `: ${e.falsePositives.slice(0, 5).join(', ')}` : ''}${e.fn ? `; missed ${e.missed.slice(0, 5).join(', ')}` : ''})`;
      }
      const summary = `${fmt(res.candidates.length)} candidate(s) of ${fmt(res.scored.length)} endpoints scored, window ${new Date(res.window.fromMs).toISOString()}..${new Date(res.window.toMs).toISOString()}, ${(res.elapsedMs / 1000).toFixed(1)} s${o.findings ? `; ${fmt(r.findings)} c2-server finding(s)` : ''}`;
      if (out.json) {
        process.stderr.write(`iotclean flows detect: ${summary}${evalText ? `; ${evalText}` : ''}\n`);
        await out.stream(
          (async function* () {
            for (const c of res.candidates) yield candidateJson(c);
          })(),
          (row) => JSON.stringify(row),
          { jsonLines: true },
        );
        return;
      }
      const lines = res.candidates.map((c) => `${endpointKey(c.ip, c.port, c.proto).padEnd(24)} score ${c.score.toFixed(3)}  clients ${String(c.clients).padStart(4)}  known-bad ${String(c.knownBadClients).padStart(3)}  ${c.evidence.find((e) => e.feature === 'periodic_clients')?.note ?? ''}`);
      out.result([...lines, '', summary, ...(evalText ? [evalText] : [])].join('\n'), undefined);
    } finally {
      closeDuck(d);
    }
  },
});

export const flowsTrainCommand = defineCommand({
  name: 'train',
  description: 'Train the C&C model on labelled lab flows (sliding windows over one seed) and write its JSON.',
  options: {
    flows: { type: 'string', value: 'DIR', description: 'lab flow folder (flows generate --out)' },
    truth: { type: 'string', value: 'FILE', description: 'its truth (default DIR/truth.json)' },
    out: { type: 'string', value: 'FILE', description: 'model JSON to write' },
    'window-hours': { type: 'number', value: 'H', min: 1, max: 24 * 60, description: 'training window length', default: 24 },
    'step-hours': { type: 'number', value: 'H', min: 1, max: 24 * 60, description: 'step between windows', default: 12 },
  },
  async run(o, _args, out) {
    if (!o.flows || !o.out) throw new IotcleanError('E_ARGS', 'flows train needs --flows DIR and --out FILE', { hint: 'e.g. iotclean flows train --flows lab-seed1 --out model.json' });
    const truth = readTruth(o.truth ?? join(o.flows, 'truth.json'));
    const d = await openSource({ flows: o.flows });
    try {
      const windows = [...slidingWindows(truth, o['window-hours'] * 3_600_000, o['step-hours'] * 3_600_000), { fromMs: truth.startMs, toMs: truth.endMs }];
      const { xs, ys } = await labelledSet(d.conn, truth, windows, builtinModel());
      const m = train(xs, ys, { seed: truth.seed, flows: truth.flows, windows: `${o['window-hours']} h every ${o['step-hours']} h, and the whole data`, examples: xs.length, positives: ys.filter((y) => y === 1).length });
      writeFileSync(o.out, `${JSON.stringify(m, null, 1)}\n`);
      out.result(`trained on ${fmt(xs.length)} endpoint-windows (${ys.filter((y) => y === 1).length} C&C) from ${windows.length} windows; threshold ${m.threshold.toFixed(3)}; wrote ${o.out}`, { out: o.out, examples: xs.length, threshold: m.threshold });
    } finally {
      closeDuck(d);
    }
  },
});

export const flowsLiveCommand = defineCommand({
  name: 'live',
  description: 'Re-check stored C&C candidates by TCP connect within the authorised scope (hourly for 2 days, 6-hourly to day 7, then daily); expire and revive indicators.',
  options: {
    once: { type: 'boolean', description: 'run the checks due now and exit (default: keep running until Ctrl-C)', default: false },
    list: { type: 'boolean', description: 'list the candidates and their liveness instead of checking', default: false },
    scope: { type: 'string', value: 'FILE', description: 'authorised scope file (default: loopback 127.0.0.0/8 only); targets outside it are recorded out-of-scope' },
    'expire-after': { type: 'number', value: 'N', integer: true, min: 1, max: 1000, description: 'consecutive dead checks before an indicator expires', default: defaultPolicy.expireAfterDead },
    timeout: { type: 'number', value: 'MS', integer: true, min: 100, max: 60_000, description: 'connect timeout', default: defaultPolicy.connectTimeoutMs },
    ...storeOption,
  },
  async run(o, _args, out) {
    const scope = compileScope(o.scope !== undefined ? await loadScope(o.scope) : defaultScope());
    const policy = { ...defaultPolicy, expireAfterDead: o['expire-after'], connectTimeoutMs: o.timeout };
    await withStore(o.db, async (store) => {
      if (o.list) {
        const all = await store.flows.list();
        if (out.json) {
          await out.stream(
            (async function* () {
              for (const c of all) yield { id: c.id, ip: c.ip, port: c.port, proto: c.proto, score: c.score, status: c.status, dead_streak: c.deadStreak, checks: c.checks, last_check_at: c.lastCheckAt, last_alive_at: c.lastAliveAt, next_check_at: c.nextCheckAt, detected_at: c.detectedAt };
            })(),
            (row) => JSON.stringify(row),
            { jsonLines: true },
          );
          return;
        }
        out.result(all.map((c) => `${String(c.id).padStart(5)}  ${endpointKey(c.ip, c.port, c.proto).padEnd(24)} ${c.status.padEnd(7)} score ${c.score.toFixed(3)}  checks ${c.checks}  dead ${c.deadStreak}  next ${c.nextCheckAt}`).join('\n') || 'no candidates stored', undefined);
        return;
      }
      let stopped = false;
      const stop = () => {
        stopped = true;
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        for (;;) {
          const r = await runDueChecks(store, scope, { policy });
          for (const c of r.checks) {
            if (out.json) process.stdout.write(`${JSON.stringify({ id: c.id, ip: c.ip, port: c.port, at: c.at, alive: c.alive, outcome: c.outcome, ms: c.ms, status: c.status })}\n`);
            else out.info(`${c.at}  ${formatEndpoint(c.ip, c.port)}  ${c.outcome}${c.ms !== null ? ` ${c.ms} ms` : ''}  → ${c.status}`);
          }
          if (!out.json) out.info(`checked ${r.checked}: ${r.alive} alive, ${r.dead} dead, ${r.unknown} not checkable; ${r.expired} expired, ${r.revived} revived`);
          if (o.once || stopped) return;
          // Sleep until the next due check (at most a minute, so Ctrl-C and new candidates are seen).
          const next = (await store.flows.list()).map((c) => Date.parse(c.nextCheckAt)).reduce((a, b) => Math.min(a, b), Infinity);
          const wait = Math.max(1000, Math.min(60_000, next - Date.now()));
          await new Promise<void>((res) => {
            const t = setTimeout(res, wait);
            const early = () => {
              clearTimeout(t);
              res();
            };
            process.once('SIGINT', early);
            process.once('SIGTERM', early);
          });
          if (stopped) return;
        }
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
    });
  },
});

const formatEndpoint = (ip: string, port: number) => `${ip}:${port}`;

export const flowsDetectCommands: Command<never>[] = [flowsGenerateCommand, flowsDetectCommand, flowsTrainCommand, flowsLiveCommand] as never[];

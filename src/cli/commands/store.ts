import { IotcleanError } from '../../core/errors.js';
import { parseIpv4 } from '../../core/ip.js';
import { importFormats, importScanFile, type ImportFormat } from '../../discover/import.js';
import { planDigest } from '../../discover/plan.js';
import { defineCommand } from '../command.js';
import { resolvePlan, resolveScope, scopeOptions, storeOption, withStore } from '../context.js';

export const surveysCommand = defineCommand({
  name: 'surveys',
  description: 'List surveys in the store with their status and counts.',
  options: { ...storeOption },
  async run(o, _args, out) {
    await withStore(o.db, async (store) => {
      const rows = await store.surveys.list();
      const counts = await store.endpoints.countBySurvey();
      const withCounts = rows.map((r) => ({ ...r, endpoints: counts.get(r.id) ?? 0 }));
      const text = withCounts.length
        ? withCounts
            .map((r) => `${String(r.id).padStart(4)}  ${r.status.padEnd(11)} ${r.startedAt}  shard ${r.shard.index + 1}/${r.shard.count}  ${r.ports.length} ports  ${r.endpoints} open  ${r.probesSent.toLocaleString('en')} probes${r.status === 'running' && r.lease ? `  (run by ${r.lease.owner} until ${r.lease.expiresAt})` : ''}`)
            .join('\n')
        : 'no surveys yet';
      out.result(text, withCounts);
    }, { readOnly: true });
  },
});

export const endpointsCommand = defineCommand({
  name: 'endpoints',
  description: 'Print the open endpoints of a survey (default: the latest).',
  options: {
    survey: { type: 'number', value: 'ID', description: 'survey id' },
    ...storeOption,
  },
  async run(o, _args, out) {
    await withStore(o.db, async (store) => {
      const surveys = await store.surveys.list();
      const id = o.survey ?? surveys.at(-1)?.id;
      if (id === undefined || !surveys.some((s) => s.id === id)) {
        throw new IotcleanError('E_NOT_FOUND', id === undefined ? 'the store holds no surveys' : `no survey with id ${id}`, { hint: 'list them with: iotclean surveys' });
      }
      // Streamed page by page: a survey of a country holds millions of endpoints.
      await out.stream(store.endpoints.list(id), (e) => `${e.ip}:${e.port}`);
    }, { readOnly: true });
  },
});

export const importCommand = defineCommand({
  name: 'import',
  description: 'Import masscan (-oJ, -oL) or zmap (CSV) output as the endpoints of a new survey.',
  positionals: [{ name: 'file', description: 'scanner output file' }],
  options: {
    format: { type: 'string', value: 'FMT', description: `${importFormats.join(', ')} or auto`, default: 'auto' },
    port: { type: 'number', value: 'N', description: 'the scanned port, for zmap output without a port column' },
    lenient: { type: 'boolean', description: 'skip bad lines (reported) instead of refusing the file', default: false },
    ...scopeOptions,
    plan: { type: 'string', value: 'FILE', description: 'plan the scan was run under (default: plans/default.yaml)' },
    ...storeOption,
  },
  async run(o, [file], out) {
    if (o.format !== 'auto' && !(importFormats as readonly string[]).includes(o.format)) {
      throw new IotcleanError('E_ARGS', `--format must be auto or one of ${importFormats.join(', ')}, got "${o.format}"`);
    }
    const { scope, targets } = await resolveScope(o);
    const plan = await resolvePlan({ plan: o.plan });
    const run = importScanFile(file!, {
      format: o.format as ImportFormat | 'auto',
      port: o.port,
      mode: o.lenient ? 'lenient' : 'strict',
      onError: (e) => out.info(`skipped: ${e.format()}`),
    });
    let outside = 0;
    let outsideTargets = 0;
    // Endpoints outside the authorised scope are never stored: later stages would connect to them.
    // Rows in the scope but outside --targets are what the operator chose not to take: skipped.
    async function* inScope() {
      for await (const e of run) {
        const ip = parseIpv4(e.ip) ?? -1;
        if (!scope.allows(ip)) {
          if (!o.lenient) throw new IotcleanError('E_SCOPE_DENIED', `${e.ip} is outside the authorised scope`, { file, hint: 'pass the --scope the scan was authorised under, or --lenient to skip such rows' });
          outside++;
        } else if (!targets.allows(ip)) outsideTargets++;
        else yield e;
      }
    }
    const digest = planDigest(plan);
    const result = await withStore(o.db, async (store) => {
      await store.plans.save({ digest, version: plan.version, name: plan.name, body: plan });
      return store.surveys.import(
        {
          planDigest: digest,
          scope: { source: scope.source, ranges: scope.ranges },
          // What the scan covered is unknown; with --targets, the survey holds those ranges only.
          targets: o.targets !== undefined ? targets.ranges : [],
          seed: 0,
          shard: { index: 0, count: 1 },
          workers: 0,
          startedAt: new Date().toISOString(),
        },
        inScope(),
      );
    });
    const s = run.summary;
    out.result(
      `imported ${result.count} endpoints on ${result.ports.length} ports from ${file} (${s.format ?? 'empty'}) as survey ${result.surveyId}; ${s.skipped} rows not open, ${s.errors} bad lines skipped, ${outside} outside the scope${o.targets !== undefined ? `, ${outsideTargets} outside --targets` : ''}`,
      {
        surveyId: result.surveyId,
        endpoints: result.count,
        ports: result.ports,
        format: s.format,
        lines: s.lines,
        skipped: s.skipped,
        errors: s.errors,
        outsideScope: outside,
        outsideTargets,
      },
    );
  },
});

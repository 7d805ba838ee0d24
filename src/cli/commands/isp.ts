/**
 * `iotclean isp …`: the ISP side, run at the ISP (subscriber data never leaves its store).
 * `import` reads session logs (RADIUS detail / CSV, dhcpd.leases, Kea CSV, CGNAT port blocks),
 * the subscriber file and the inventory; `match` resolves each finding of the centre's batches to
 * a subscriber and a measure. Subcommands sit in one table ({@link ispSubcommands}): adding one
 * (alert, cases, escalations, effect from ./isp-cases.ts) is one line there.
 */
import { resolve } from 'node:path';
import { IotcleanError } from '../../core/errors.js';
import { readBatchFile } from '../../notify/isp/batch-file.js';
import { readSessionLog, type SessionLogProblem } from '../../notify/isp/logs/index.js';
import { matchAndRoute, type RoutedMatch } from '../../notify/isp/match-store.js';
import { readInventoryFile, readSubscriberFile } from '../../notify/isp/subscriber-files.js';
import { sessionSources, type SessionSource } from '../../notify/isp/types.js';
import { defineCommand, type Command } from '../command.js';
import { ispCaseSubcommands } from './isp-cases.js';
import { storeOption, withStore } from '../context.js';

const formats = ['auto', ...sessionSources] as const;

/** Problems printed one per line before the summary; the rest only counted (a broken log can have millions). */
const maxProblemsShown = 50;
/** Problems listed under --json (the count is always exact). */
const maxProblemsKept = 10_000;

const problemText = (p: SessionLogProblem): string => `${p.file}:${p.line}: ${p.message}`;

export const ispImportCommand = defineCommand({
  name: 'import',
  description: 'Import session logs (and the subscriber file and inventory) into the ISP store; a malformed line is reported with its file and line, the rest imported.',
  positionals: [{ name: 'FILE', description: 'session log files (RADIUS detail or CSV, dhcpd.leases, Kea lease CSV, CGNAT port-block log)', optional: true, variadic: true }],
  options: {
    format: { type: 'string', choices: formats, default: 'auto', description: 'format of the FILEs (auto: detected from the first lines of each)' },
    subscribers: { type: 'string', value: 'FILE', description: 'subscriber CSV: subscriber_id,email,language,name[,mac][,client_id]' },
    inventory: { type: 'string', value: 'FILE', description: 'inventory CSV: subscriber_id,mac,measure,contact,model (replaces the stored inventory)' },
    'collected-at': { type: 'string', value: 'TIME', description: 'when the logs were collected, ISO 8601 (default now): sessions still open are known alive until then' },
    ...storeOption,
  },
  async run(o, files, out): Promise<number> {
    if (files.length === 0 && o.subscribers === undefined && o.inventory === undefined) {
      throw new IotcleanError('E_ARGS', 'nothing to import', { hint: 'give session log FILEs, --subscribers FILE or --inventory FILE' });
    }
    const importedAt = o['collected-at'] === undefined ? Date.now() : Date.parse(o['collected-at']);
    if (!Number.isFinite(importedAt)) throw new IotcleanError('E_ARGS', `--collected-at "${o['collected-at']}" is not a time`, { hint: 'give ISO 8601, e.g. 2026-12-01T09:00:00Z' });
    // The first problems are kept for --json; a log with millions of bad lines is only counted.
    const problems: SessionLogProblem[] = [];
    let seen = 0;
    const onProblem = (p: SessionLogProblem): void => {
      if (problems.length < maxProblemsKept) problems.push(p);
      if (seen++ < maxProblemsShown) out.info(problemText(p));
    };
    return withStore(o.db, async (store) => {
      const subs = o.subscribers !== undefined ? await readSubscriberFile(o.subscribers, onProblem) : undefined;
      const inventory = o.inventory !== undefined ? await readInventoryFile(o.inventory, onProblem) : undefined;
      if (subs) await store.sessions.putSubscribers(subs.subscribers, subs.keys);
      if (inventory) await store.sessions.putInventory(inventory);
      const keys = subs?.keys ?? (await store.sessions.subscriberKeys());
      const results: { file: string; sessions: number; sources: Partial<Record<SessionSource, number>>; problems: number }[] = [];
      for (const file of files) {
        const before = seen;
        const sources: Partial<Record<SessionSource, number>> = {};
        async function* counted() {
          for await (const s of readSessionLog(file, { format: o.format, keys, onProblem, fileName: resolve(file) })) {
            sources[s.source] = (sources[s.source] ?? 0) + 1;
            yield s;
          }
        }
        const r = await store.sessions.import(counted(), { importedAt, onChunk: (n) => out.info(`${file}: ${n.toLocaleString('en')} sessions ...`) });
        results.push({ file, sessions: r.count, sources, problems: seen - before });
      }
      if (seen > maxProblemsShown) out.info(`… ${seen - maxProblemsShown} more problems not shown (--json lists the first ${maxProblemsKept})`);
      const lines = [
        ...(subs ? [`subscribers: ${subs.subscribers.length} (${subs.keys.byMac.size} MACs, ${subs.keys.byClientId.size} client ids)`] : []),
        ...(inventory ? [`inventory: ${inventory.length} entries`] : []),
        ...results.map((r) => `${r.file}: ${r.sessions} sessions (${Object.keys(r.sources).join(', ') || 'none'}), ${r.problems} malformed`),
        `stored sessions: ${await store.sessions.count()}`,
      ];
      out.result(lines.join('\n'), {
        subscribers: subs ? subs.subscribers.length : null,
        inventory: inventory ? inventory.length : null,
        files: results,
        problems,
        problemCount: seen,
        sessionsStored: await store.sessions.count(),
      });
      return 0;
    });
  },
});

/** One line of `isp match` for people. */
export function matchLine(m: RoutedMatch): string {
  const where = `${m.finding.ip}${m.finding.port !== null ? `:${m.finding.port}` : ''}`;
  return [m.ticket ?? '-', m.finding.kind, where, m.finding.observedAt, m.status, m.subscriber ?? '-', m.route?.measure ?? '-', m.reason ?? m.route?.why ?? ''].join('\t');
}

/** The JSON row of one match (no subscriber contact data: ids only). */
export function matchJson(m: RoutedMatch): Record<string, unknown> {
  return {
    ticket: m.ticket,
    kind: m.finding.kind,
    ip: m.finding.ip,
    port: m.finding.port,
    observedAt: m.finding.observedAt,
    status: m.status,
    subscriber: m.subscriber,
    candidates: m.candidates,
    reason: m.reason,
    mac: m.mac,
    measure: m.route?.measure ?? null,
    contact: m.route?.contact ?? null,
    why: m.route?.why ?? null,
    // The whole finding too, so `isp alert --matches` can open cases from this output as is.
    finding: m.finding,
  };
}

export const ispMatchCommand = defineCommand({
  name: 'match',
  description: 'Match every finding of the centre\'s batches to a subscriber (ip + time, + port behind CGNAT) and route it to a measure: one line per finding with status, subscriber, measure and reason. The --json output (JSON Lines) is what `isp alert --matches FILE` reads as is: isp match BATCH.json --json > matches.jsonl.',
  positionals: [{ name: 'BATCH', description: 'notification batch JSON files from the centre', variadic: true }],
  options: { ...storeOption },
  async run(o, files, out): Promise<number> {
    const batches = await Promise.all(files.map((f) => readBatchFile(f)));
    return withStore(
      o.db,
      async (store) => {
        const matches = await matchAndRoute(
          store,
          batches.flatMap((b) => b.findings.map((finding) => ({ finding, ticket: b.ticket }))),
        );
        const count = (s: string) => matches.filter((m) => m.status === s).length;
        out.info(`${matches.length} findings: ${count('matched')} matched, ${count('unmatched')} unmatched, ${count('ambiguous')} ambiguous`);
        async function* rows() {
          yield* matches;
        }
        if (out.json) {
          async function* json() {
            for (const m of matches) yield matchJson(m);
          }
          await out.stream(json(), () => '', { jsonLines: true });
        } else await out.stream(rows(), matchLine);
        return 0;
      },
      { readOnly: true },
    );
  },
});

/** The `isp` subcommands, one line each (./isp-cases.ts adds alert, cases, escalations, effect here). */
export const ispSubcommands: Command<never>[] = [ispImportCommand as Command<never>, ispMatchCommand as Command<never>, ...(ispCaseSubcommands as unknown as Command<never>[])];

export const ispCommand = defineCommand({
  name: 'isp',
  description: 'The ISP side, run at the ISP: import session logs, match findings to subscribers and route them, alert, track cases, escalations and effect (subscriber data stays here).',
  subcommands: ispSubcommands,
});

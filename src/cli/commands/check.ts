/** Operator checks: validate a scope file or a survey plan before a survey uses it. */
import { formatRange } from '../../core/ip.js';
import { planDigest } from '../../discover/plan.js';
import { countAddresses, normaliseRanges } from '../../scope/range-set.js';
import { reservedRemoved } from '../../scope/reserved.js';
import { compileScope, defaultScope, loadScope } from '../../scope/scope.js';
import { defineCommand } from '../command.js';
import { LARGE_SCOPE, resolvePlan } from '../context.js';
import { planGovernanceCommands } from './plan-governance.js';

export const scopeCommand = defineCommand({
  name: 'scope',
  description: 'Check a scope file and print the addresses it authorises (default: the loopback-only scope).',
  positionals: [{ name: 'file', description: 'scope file', optional: true }],
  async run(_o, [file], out) {
    const scope = file ? await loadScope(file) : defaultScope();
    const compiled = compileScope(scope);
    // What the reserved-address blocklist took out, apart from what the exclude lines did.
    const removed = reservedRemoved(scope.includes, scope.allowReserved);
    const reserved = removed.reduce((n, r) => n + r.addresses, 0);
    const excluded = countAddresses(normaliseRanges(scope.includes)) - compiled.size - reserved;
    const ranges = compiled.ranges.map(formatRange);
    const shown = ranges.length > 20 ? [...ranges.slice(0, 20), `... ${ranges.length - 20} more`] : ranges;
    const lifted = scope.allowReserved.map(formatRange);
    out.result(
      [
        `${compiled.source}: ${compiled.size.toLocaleString('en')} addresses authorised in ${ranges.length} range(s), ${excluded.toLocaleString('en')} excluded, ${reserved.toLocaleString('en')} reserved removed`,
        ...shown.map((r) => `  ${r}`),
        ...(removed.length ? ['reserved address space removed (lift one with "allow-reserved <block>"):'] : []),
        ...removed.map((r) => `  ${r.entry.cidr.padEnd(18)} ${r.entry.name} (${r.entry.rfc}): ${r.addresses.toLocaleString('en')}`),
        ...(lifted.length ? [`lifted from the blocklist: ${lifted.join(', ')}`] : []),
        ...(compiled.size > LARGE_SCOPE ? [`more than a /8: surveys with this scope need --confirm-large-scope`] : []),
      ].join('\n'),
      {
        source: compiled.source,
        addresses: compiled.size,
        excluded,
        ranges,
        reserved: removed.map((r) => ({ block: r.entry.cidr, name: r.entry.name, rfc: r.entry.rfc, addresses: r.addresses })),
        lifted,
        needsConfirmation: compiled.size > LARGE_SCOPE,
      },
    );
  },
});

export const planCommand = defineCommand({
  name: 'plan',
  description: 'Check a survey plan and print its ports with the reason for each (default: plans/default.yaml); propose, approve, list and diff plan versions.',
  positionals: [{ name: 'file', description: 'plan file', optional: true }],
  subcommands: planGovernanceCommands as never[],
  async run(_o, [file], out) {
    const plan = await resolvePlan({ plan: file });
    const digest = planDigest(plan);
    out.result(
      [
        `plan ${plan.name} version ${plan.version} (sha256 ${digest.slice(0, 16)}…): ${plan.ports.length} ports, ${plan.rate.toLocaleString('en')} probes/s, timeout ${plan.timeoutMs} ms, ${plan.retries} retries, modules ${plan.modules.join(', ')}`,
        ...(plan.access
          ? [
              `access: dictionary ${plan.access.dictionary} (sha256 ${plan.access.dictionaryDigest?.slice(0, 16) ?? '?'}…), pause ${plan.access.pauseMs} ms, at most ${plan.access.maxAttemptsPerHost} tries per host, ${plan.access.concurrency} hosts at once, lock-out back-off ${plan.access.lockoutBackoffMs} ms`,
            ]
          : []),
        ...plan.ports.map((p) => `  ${String(p.port).padStart(5)}/tcp  ${p.service.padEnd(10)} ${p.reason}`),
      ].join('\n'),
      { ...plan, digest },
    );
  },
});

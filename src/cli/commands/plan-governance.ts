/**
 * `iotclean plan propose|approve|reject|list|diff`: survey governance from the command line, the
 * same rules as /ops/plans (src/store/plan-governance.ts): one operator proposes, a second one
 * with the admin role approves, and each step is written to the web audit log (ip "cli").
 */
import { readFile } from 'node:fs/promises';
import { IotcleanError } from '../../core/errors.js';
import { loadPlan, planDigest, withPortMap } from '../../discover/plan.js';
import { labPortMap, runningLab } from '../../lab/state.js';
import { refusalError, type GovernanceActor, type PlanVersionInfo } from '../../store/plan-governance.js';
import type { Store } from '../../store/store.js';
import { canonicalLines, diffPlans, formatPlanDiff, hunks, lineDiff } from '../../web/governance/plan-diff.js';
import { operatorRoles } from '../../web/types.js';
import { defineCommand, type OptionSpec } from '../command.js';
import { storeOption, withStore } from '../context.js';

const byOption = {
  by: { type: 'string', value: 'NAME', description: 'the operator account (in the store\'s web accounts) doing this' },
  note: { type: 'string', value: 'TEXT', allowEmpty: true, description: 'a note kept with the step', default: '' },
} as const satisfies Record<string, OptionSpec>;

/** The operator account named by --by: it must exist, be enabled and be an operator. */
async function actor(store: Store, name: string | undefined): Promise<GovernanceActor> {
  if (name === undefined) throw new IotcleanError('E_ARGS', '--by NAME is required: governance records who did what', { hint: 'give your operator account name, e.g. --by alice' });
  const found = await store.web.accountByName(name);
  if (!found || found.account.disabled) throw new IotcleanError('E_NOT_FOUND', `no enabled web account named "${name}"`, { hint: 'operator accounts are the web server\'s (iotclean serve); ask an admin to create yours' });
  const a = found.account;
  if (!operatorRoles.includes(a.role)) throw new IotcleanError('E_PLAN_APPROVAL', `${a.name} is an ISP account, not an operator`, { hint: 'plans are proposed and approved by operators (admin or analyst)' });
  return { id: a.id, name: a.name, role: a.role };
}

const audit = (store: Store, by: GovernanceActor, action: string, target: string, detail: Record<string, unknown>) =>
  store.web.audit({ accountId: by.id, accountName: by.name, ip: 'cli', action, target, detail }, Date.now());

const stateLine = (p: PlanVersionInfo): string =>
  `${p.digest.slice(0, 16)}  ${p.name} ${p.version}  ${p.state}${p.proposedBy ? `  proposed by ${p.proposedBy} ${p.proposedAt}` : ''}${p.decidedBy ? `  ${p.state} by ${p.decidedBy} ${p.decidedAt}` : ''}`;

const proposeCommand = defineCommand({
  name: 'propose',
  description: 'Propose a plan file for approval (checked as `iotclean plan FILE` checks it; nothing is stored when it is refused).',
  positionals: [{ name: 'file', description: 'plan file' }],
  options: {
    ...byOption,
    lab: { type: 'string', value: 'DIR', description: 'propose the plan as a survey of the lab running in DIR runs it (its port map applied, so the digest is the one `iotclean survey --lab DIR` checks)' },
    ...storeOption,
  },
  async run(o, [file], out) {
    const loaded = await loadPlan(file!);
    const plan = o.lab ? withPortMap(loaded, labPortMap(runningLab(o.lab))) : loaded;
    const digest = planDigest(plan);
    const source = await readFile(file!, 'utf8');
    return withStore(o.db, async (store) => {
      const by = await actor(store, o.by);
      const r = await store.planApprovals.propose({ digest, version: plan.version, name: plan.name, body: plan, source, note: o.note }, by, Date.now());
      if (!r.ok) throw refusalError(r);
      await audit(store, by, 'plan.propose', digest, { version: plan.version, name: plan.name, note: o.note });
      out.result(`proposed plan ${plan.name} ${plan.version} (sha256 ${digest}); an admin other than ${by.name} approves it with: iotclean plan approve ${digest.slice(0, 16)} --by ADMIN`, r.plan);
    });
  },
});

function decideCommand(decision: 'approved' | 'rejected') {
  const verb = decision === 'approved' ? 'approve' : 'reject';
  return defineCommand({
    name: verb,
    description: `${decision === 'approved' ? 'Approve' : 'Reject'} a proposed plan version (admin only, never the proposer).`,
    positionals: [{ name: 'plan', description: 'digest, digest prefix (8+ hex digits) or version' }],
    options: { ...byOption, ...storeOption },
    async run(o, [ref], out) {
      return withStore(o.db, async (store) => {
        const by = await actor(store, o.by);
        const digest = await store.planApprovals.resolve(ref!);
        const r = await store.planApprovals.decide(digest, decision, by, o.note, Date.now());
        if (!r.ok) {
          await audit(store, by, `plan.${verb}.refused`, digest, { reason: r.reason });
          throw refusalError(r);
        }
        await audit(store, by, `plan.${verb}`, digest, { version: r.plan.version, name: r.plan.name, note: o.note });
        out.result(`${decision} plan ${r.plan.name} ${r.plan.version} (sha256 ${digest})`, r.plan);
      });
    },
  });
}

const listCommand = defineCommand({
  name: 'list',
  description: 'List the stored plan versions with their governance state (proposed, approved, rejected, unreviewed).',
  options: { ...storeOption },
  async run(o, _args, out) {
    return withStore(
      o.db,
      async (store) => {
        const plans = await store.planApprovals.list();
        const enforced = await store.planApprovals.enforced();
        const head = enforced ? 'governance on: surveys run approved plans only' : 'governance off: no plan approved yet, surveys run any valid plan';
        out.result([head, ...plans.map(stateLine)].join('\n'), { enforced, plans });
      },
      { readOnly: true },
    );
  },
});

const diffCommand = defineCommand({
  name: 'diff',
  description: 'What changed from plan version A to B: ports, modules, ID/password list, rate, other fields, and a line diff.',
  positionals: [
    { name: 'a', description: 'digest, digest prefix or version' },
    { name: 'b', description: 'digest, digest prefix or version' },
  ],
  options: { ...storeOption },
  async run(o, [a, b], out) {
    return withStore(
      o.db,
      async (store) => {
        const [da, db] = [await store.planApprovals.resolve(a!), await store.planApprovals.resolve(b!)];
        const [pa, pb] = [(await store.planApprovals.get(da))!, (await store.planApprovals.get(db))!];
        const diff = diffPlans(pa.body, pb.body);
        const lines = hunks(lineDiff(canonicalLines(pa.body), canonicalLines(pb.body)));
        const text = [`--- ${pa.name} ${pa.version} (${da.slice(0, 16)}…, ${pa.state})`, `+++ ${pb.name} ${pb.version} (${db.slice(0, 16)}…, ${pb.state})`, ...formatPlanDiff(diff), '', ...lines.map((l) => (l.text === '@@' ? '@@' : `${l.op}${l.text}`))];
        out.result(text.join('\n'), { a: { digest: da, version: pa.version, state: pa.state }, b: { digest: db, version: pb.version, state: pb.state }, diff, lines });
      },
      { readOnly: true },
    );
  },
});

/** The governance subcommands of `iotclean plan`. */
export const planGovernanceCommands = [proposeCommand, decideCommand('approved'), decideCommand('rejected'), listCommand, diffCommand];

/**
 * Survey governance pages (operators): /ops/plans lists every stored plan version with its state
 * and takes proposals (pasted or uploaded YAML, checked by the plan loader); /ops/plans/:digest
 * shows one readably, with approve/reject for an admin who did not propose it; /ops/plans/diff
 * compares two versions. The rules live in src/store/plan-governance.ts (shared with the CLI);
 * every step and every refused step is audited.
 */
import type { Context } from 'hono';
import { z } from 'zod';
import { isIotcleanError } from '../../core/errors.js';
import { surveyPlanSchema, type SurveyPlan } from '../../discover/plan.js';
import { maxNoteLength, type GovernanceActor, type GovernanceRefusal, type PlanVersionInfo, type StoredPlanVersion } from '../../store/plan-governance.js';
import { csrfField, html, page, problemPage, type Html } from '../html.js';
import { formatDate, formatNumber, tr, type Translate } from '../i18n.js';
import { requireRole } from '../security.js';
import type { WebContext, WebEnv, WebModule } from '../types.js';
import { m } from './messages.js';
import { canonicalLines, diffPlans, hunks, lineDiff, type PlanDiff } from './plan-diff.js';
import { dictionaryInfo, maxPlanBytes, planFromWebText } from './plan-info.js';

type C = Context<WebEnv>;
type T = Translate<typeof m>;

const digestParam = z.string().regex(/^[0-9a-f]{64}$/, { error: 'a plan digest is 64 lower-case hex digits' });

const proposeForm = z.object({
  yaml: z.string().max(maxPlanBytes * 2, { error: `the plan text is longer than ${maxPlanBytes / 1024} KB` }).optional(),
  file: z.instanceof(File).optional(),
  note: z.string().max(maxNoteLength, { error: `the note is longer than ${maxNoteLength} characters` }).default(''),
  _csrf: z.string().optional(),
});

const decideForm = z.object({
  note: z.string().max(maxNoteLength, { error: `the note is longer than ${maxNoteLength} characters` }).default(''),
  _csrf: z.string().optional(),
});

const diffQuery = z.object({
  a: z.string().trim().min(1, { error: 'a is missing' }).max(64).optional(),
  b: z.string().trim().min(1, { error: 'b is missing' }).max(64).optional(),
});

const refusalStatus: Record<GovernanceRefusal, 403 | 404 | 409> = {
  'not-found': 404,
  'not-operator': 403,
  'not-admin': 403,
  'own-proposal': 403,
  'not-proposed': 409,
  'already-proposed': 409,
  'already-approved': 409,
};

const issueText = (e: z.ZodError): string => e.issues.map((i) => `${i.path.join('.') || 'form'}: ${i.message}`).join('; ');

const actorOf = (c: C): GovernanceActor => {
  const a = c.get('session')!.account;
  return { id: a.id, name: a.name, role: a.role };
};

const short = (d: string) => `${d.slice(0, 16)}…`;

function stateBadge(t: T, state: PlanVersionInfo['state']): Html {
  return html`<span class="gov-state gov-${state}">${t(`state.${state}`)}</span>`;
}

function who(c: C, t: T, name: string | null, at: string | null): Html {
  return name ? html`${t('by', { who: name, when: at ? formatDate(c.get('lang'), at) : '' })}` : html`<span class="muted">—</span>`;
}

function versionOptions(plans: readonly PlanVersionInfo[], selected: string | undefined): Html {
  return html`${plans.map((p) => html`<option value="${p.digest}"${p.digest === selected ? html` selected` : ''}>${p.name} ${p.version} (${short(p.digest)})</option>`)}`;
}

function diffForm(t: T, plans: readonly PlanVersionInfo[], a?: string, b?: string): Html {
  return html`<form method="get" action="/ops/plans/diff" class="filters" id="diff-form">
<label>${t('from')} <select name="a" id="diff-a">${versionOptions(plans, a ?? plans[1]?.digest)}</select></label>
<label>${t('to')} <select name="b" id="diff-b">${versionOptions(plans, b ?? plans[0]?.digest)}</select></label>
<button type="submit" id="diff-submit">${t('show')}</button>
</form>`;
}

async function listPage(c: C, ctx: WebContext, refused?: { message: string; yaml: string; note: string; status: 400 | 403 | 409 }) {
  const t = tr(c, m);
  const lang = c.get('lang');
  const plans = await ctx.store.planApprovals.list();
  const enforced = await ctx.store.planApprovals.enforced();
  const body = html`<p>${t('intro')}</p>
<p class="${enforced ? 'ok' : 'muted'}" id="governance-state">${enforced ? t('enforcedOn') : t('enforcedOff')}</p>
${
  plans.length === 0
    ? html`<p class="muted">${t('none')}</p>`
    : html`<table id="plan-list">
<thead><tr><th>${t('name')}</th><th>${t('version')}</th><th>${t('digest')}</th><th>${t('state')}</th><th>${t('proposed')}</th><th>${t('decided')}</th><th>${t('storedAt')}</th></tr></thead>
<tbody>
${plans.map(
  (p) => html`<tr data-digest="${p.digest}">
<td>${p.name}</td><td><a href="/ops/plans/${p.digest}">${p.version}</a></td><td class="gov-digest"><a href="/ops/plans/${p.digest}">${short(p.digest)}</a></td>
<td>${stateBadge(t, p.state)}</td><td>${who(c, t, p.proposedBy, p.proposedAt)}</td><td>${who(c, t, p.decidedBy, p.decidedAt)}</td><td>${formatDate(lang, p.createdAt)}</td>
</tr>`,
)}
</tbody></table>`
}
${plans.length >= 2 ? html`<h2>${t('compare')}</h2>${diffForm(t, plans)}` : ''}
<h2 id="propose">${t('propose')}</h2>
<p>${t('proposeHelp')}</p>
${refused ? html`<div class="problem" role="alert" id="propose-error"><p>${t('refused')}</p><pre class="device-text">${refused.message}</pre></div>` : ''}
<form method="post" action="/ops/plans" enctype="multipart/form-data" class="gov-propose" id="propose-form">
${csrfField(c)}
<label>${t('yaml')} <textarea name="yaml" id="plan-yaml" rows="16" spellcheck="false">${refused?.yaml ?? ''}</textarea></label>
<label>${t('file')} <input type="file" name="file" id="plan-file" accept=".yaml,.yml,text/yaml"></label>
<label>${t('note')} <input name="note" id="propose-note" maxlength="${maxNoteLength}" value="${refused?.note ?? ''}"></label>
<button type="submit" id="propose-submit">${t('submitPropose')}</button>
</form>`;
  return page(c, { title: t('title'), body, scripts: ['governance-plans.js'], ...(refused ? { status: refused.status } : {}) });
}

function dl(rows: readonly (readonly [string, Html | string | number])[]): Html {
  return html`<dl class="gov-facts">${rows.map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`)}</dl>`;
}

async function planBody(c: C, t: T, plan: SurveyPlan): Promise<Html> {
  const lang = c.get('lang');
  const n = (x: number) => formatNumber(lang, x);
  const a = plan.access;
  const dict = a ? await dictionaryInfo(a) : undefined;
  return html`<h2>${t('pace')}</h2>
${dl([
  [t('rate'), n(plan.rate)],
  [t('concurrency'), n(plan.concurrency)],
  [t('timeoutMs'), n(plan.timeoutMs)],
  [t('retries'), n(plan.retries)],
  [t('grab'), `${n(plan.grab.concurrency)} / ${n(plan.grab.batchSize)}`],
  ...(a
    ? ([
        [t('pauseMs'), n(a.pauseMs)],
        [t('maxAttempts'), n(a.maxAttemptsPerHost)],
        [t('accessConcurrency'), n(a.concurrency)],
        [t('lockout'), n(a.lockoutBackoffMs)],
      ] as const)
    : []),
])}
<h2>${t('modules')}</h2>
<ol class="gov-modules" id="plan-modules">${plan.modules.map((x) => html`<li>${x}</li>`)}</ol>
<h2>${t('dictionary')}</h2>
${
  dict
    ? dl([
        [t('dictName'), dict.dictionary],
        [t('dictDigest'), dict.pinnedDigest ? html`<code class="gov-digest">${dict.pinnedDigest}</code>` : t('notPinned')],
        ['', dict.loaded ? t('dictLoaded', { name: dict.loaded.name, version: dict.loaded.version, entries: n(dict.loaded.entries) }) : t(`dict.${dict.note!}`)],
      ])
    : html`<p>${t('noAccess')}</p>`
}
<h2>${t('ports', { n: plan.ports.length })}</h2>
<table id="plan-ports"><thead><tr><th class="num">${t('port')}</th><th>${t('service')}</th><th>${t('reason')}</th></tr></thead>
<tbody>${plan.ports.map((p) => html`<tr><td class="num">${p.port}</td><td>${p.service}</td><td>${p.reason}</td></tr>`)}</tbody></table>
<h2>${t('scope')}</h2>
<p>${t('scopeNote')}</p>`;
}

function decisionPart(c: C, t: T, p: StoredPlanVersion): Html {
  const me = c.get('session')!.account;
  if (p.state === 'unreviewed' || p.state === 'rejected') {
    // A version a survey stored (or one rejected) can be put up for review as it is stored.
    return html`<p class="muted" id="decide-help">${p.state === 'unreviewed' ? t('unreviewedHelp') : t('rejectedHelp')}</p>
<form method="post" action="/ops/plans/${p.digest}/propose" class="gov-decide" id="propose-stored-form">
${csrfField(c)}
<label>${t('proposalNote')} <input name="note" id="propose-stored-note" maxlength="${maxNoteLength}"></label>
<button type="submit" id="propose-stored-submit">${t('proposeStored')}</button>
</form>`;
  }
  if (p.state !== 'proposed') return html`<p class="muted" id="decide-help">${t('final')}</p>`;
  if (me.name === p.proposedBy) return html`<p class="muted" id="decide-help">${t('ownProposal')}</p>`;
  if (me.role !== 'admin') return html`<p class="muted" id="decide-help">${t('adminOnly')}</p>`;
  return html`<form method="post" class="gov-decide" id="decide-form">
${csrfField(c)}
<label>${t('decisionNote')} <input name="note" id="decide-note" maxlength="${maxNoteLength}"></label>
<button type="submit" formaction="/ops/plans/${p.digest}/approve" id="approve-submit">${t('approve')}</button>
<button type="submit" formaction="/ops/plans/${p.digest}/reject" id="reject-submit">${t('reject')}</button>
</form>`;
}

async function planPage(c: C, ctx: WebContext, digest: string) {
  const t = tr(c, m);
  const p = await ctx.store.planApprovals.get(digest);
  if (!p) return problemPage(c, 404, t('noPlan'));
  await ctx.audit(c, 'plan.view', digest);
  const parsed = surveyPlanSchema.safeParse(p.body);
  const all = await ctx.store.planApprovals.list();
  const idx = all.findIndex((x) => x.digest === digest);
  // The previous version: the next older one of the same plan name, else the next older one.
  const older = all.slice(idx + 1);
  const prev = older.find((x) => x.name === p.name) ?? older[0];
  const surveys = (await ctx.store.surveys.list()).filter((s) => s.planDigest === digest).length;
  const lang = c.get('lang');
  const body = html`${dl([
    [t('name'), p.name],
    [t('version'), p.version],
    [t('digest'), html`<code class="gov-digest" id="plan-digest">${p.digest}</code>`],
    [t('state'), html`<span id="plan-state">${stateBadge(t, p.state)}</span>`],
    [t('proposed'), who(c, t, p.proposedBy, p.proposedAt)],
    ...(p.proposalNote ? ([[t('proposalNote'), p.proposalNote]] as const) : []),
    [t('decided'), who(c, t, p.decidedBy, p.decidedAt)],
    ...(p.decisionNote ? ([[t('decisionNote'), p.decisionNote]] as const) : []),
    [t('storedAt'), formatDate(lang, p.createdAt)],
    [t('description'), parsed.success ? parsed.data.description : ''],
  ])}
<p>${t('surveys', { n: formatNumber(lang, surveys) })}</p>
${prev ? html`<p><a href="/ops/plans/diff?a=${prev.digest}&amp;b=${p.digest}" id="diff-prev">${t('diffPrev')} (${prev.version})</a></p>` : ''}
<h2>${t('decide')}</h2>
${decisionPart(c, t, p)}
${parsed.success ? await planBody(c, t, parsed.data) : html`<p class="problem">${t('invalidBody')}</p>`}
${p.source ? html`<h2>${t('sourceYaml')}</h2><pre class="device-text gov-source">${p.source}</pre>` : ''}
<h2>${t('canonical')}</h2><pre class="device-text gov-source">${canonicalLines(p.body).join('\n')}</pre>`;
  return page(c, { title: t('planTitle', { name: p.name, version: p.version }), body });
}

const showValue = (v: unknown): string => (v === null || v === undefined ? '—' : typeof v === 'string' ? v : JSON.stringify(v));

function structured(t: T, d: PlanDiff): Html {
  if (d.same) return html`<p id="diff-same">${t('same')}</p>`;
  const portRows = (rows: readonly { port: number; service: string; reason: string }[], cls: string, sign: string) =>
    html`<tbody class="${cls}">${rows.map((p) => html`<tr><td class="num">${sign} ${p.port}</td><td>${p.service}</td><td>${p.reason}</td></tr>`)}</tbody>`;
  const pin = (x: { dictionary: string; digest: string | null } | null) => (x ? `${x.dictionary} (${x.digest ? short(x.digest) : t('notPinned')})` : '—');
  return html`${d.ports.added.length ? html`<h3>${t('portsAdded')}</h3><table id="ports-added"><thead><tr><th class="num">${t('port')}</th><th>${t('service')}</th><th>${t('reason')}</th></tr></thead>${portRows(d.ports.added, 'gov-add', '+')}</table>` : ''}
${d.ports.removed.length ? html`<h3>${t('portsRemoved')}</h3><table id="ports-removed"><thead><tr><th class="num">${t('port')}</th><th>${t('service')}</th><th>${t('reason')}</th></tr></thead>${portRows(d.ports.removed, 'gov-del', '−')}</table>` : ''}
${
  d.ports.changed.length
    ? html`<h3>${t('portsChanged')}</h3><table id="ports-changed"><thead><tr><th class="num">${t('port')}</th><th>${t('before')}</th><th>${t('after')}</th></tr></thead><tbody>${d.ports.changed.map(
        (x) => html`<tr><td class="num">${x.port}</td><td>${x.from.service}: ${x.from.reason}</td><td>${x.to.service}: ${x.to.reason}</td></tr>`,
      )}</tbody></table>`
    : ''
}
${d.modules.added.length ? html`<h3>${t('modulesAdded')}</h3><ul id="modules-added" class="gov-add">${d.modules.added.map((x) => html`<li>+ ${x}</li>`)}</ul>` : ''}
${d.modules.removed.length ? html`<h3>${t('modulesRemoved')}</h3><ul id="modules-removed" class="gov-del">${d.modules.removed.map((x) => html`<li>− ${x}</li>`)}</ul>` : ''}
${d.modules.reordered ? html`<p>${t('modulesReordered')}</p>` : ''}
${d.dictionary ? html`<h3>${t('dictChange')}</h3><p id="dictionary-change">${pin(d.dictionary.from)} → ${pin(d.dictionary.to)}</p>` : ''}
${d.rate ? html`<h3>${t('rateChange')}</h3><p id="rate-change">${showValue(d.rate.from)} → ${showValue(d.rate.to)}</p>` : ''}
${
  d.other.length
    ? html`<h3>${t('other')}</h3><table id="other-changes"><thead><tr><th>${t('field')}</th><th>${t('before')}</th><th>${t('after')}</th></tr></thead><tbody>${d.other.map(
        (o) => html`<tr><td><code>${o.path}</code></td><td class="device-text">${showValue(o.from)}</td><td class="device-text">${showValue(o.to)}</td></tr>`,
      )}</tbody></table>`
    : ''
}`;
}

async function diffPage(c: C, ctx: WebContext) {
  const t = tr(c, m);
  const q = diffQuery.safeParse(c.req.query());
  const plans = await ctx.store.planApprovals.list();
  if (!q.success) return problemPage(c, 400, t('badRef', { what: issueText(q.error) }));
  const { a, b } = q.data;
  if (a === undefined || b === undefined) return page(c, { title: t('diffTitle'), body: html`<p>${t('diffPick')}</p>${diffForm(t, plans)}` });
  let da: string;
  let db: string;
  try {
    da = await ctx.store.planApprovals.resolve(a);
    db = await ctx.store.planApprovals.resolve(b);
  } catch (e) {
    if (!isIotcleanError(e)) throw e;
    return problemPage(c, e.code === 'E_NOT_FOUND' ? 404 : 400, t('badRef', { what: e.message }));
  }
  const [pa, pb] = [(await ctx.store.planApprovals.get(da))!, (await ctx.store.planApprovals.get(db))!];
  await ctx.audit(c, 'plan.diff', `${da}..${db}`);
  const d = diffPlans(pa.body, pb.body);
  const lines = hunks(lineDiff(canonicalLines(pa.body), canonicalLines(pb.body)));
  const side = (p: StoredPlanVersion) => html`<a href="/ops/plans/${p.digest}">${p.name} ${p.version}</a> (${short(p.digest)}, ${stateBadge(t, p.state)})`;
  const body = html`${diffForm(t, plans, da, db)}
<p id="diff-sides">${t('from')}: ${side(pa)} → ${t('to')}: ${side(pb)}</p>
<section id="diff-structured">${structured(t, d)}</section>
${
  d.same
    ? ''
    : html`<h2>${t('lines')}</h2>
<pre class="gov-lines" id="diff-lines">${lines.map((l) =>
        l.text === '@@' && l.op === ' '
          ? html`<span class="gov-hunk">@@</span>\n`
          : html`<span class="${l.op === '+' ? 'gov-add' : l.op === '-' ? 'gov-del' : 'gov-keep'}"${l.op === '+' ? html` title="${t('added')}"` : l.op === '-' ? html` title="${t('removed')}"` : ''}>${l.op}${l.text}</span>\n`,
      )}</pre>`
}`;
  return page(c, { title: t('diffTitle'), body });
}

export const governanceModule: WebModule = {
  name: 'governance',
  mount(app, ctx) {
    app.use('/ops/plans', requireRole('admin', 'analyst'));
    app.use('/ops/plans/*', requireRole('admin', 'analyst'));

    app.get('/ops/plans', async (c) => {
      await ctx.audit(c, 'view', '/ops/plans');
      return listPage(c, ctx);
    });

    app.post('/ops/plans', async (c) => {
      const t = tr(c, m);
      const form = proposeForm.safeParse(await c.req.parseBody());
      if (!form.success) return listPage(c, ctx, { message: t('badForm', { what: issueText(form.error) }), yaml: '', note: '', status: 400 });
      const fileText = form.data.file && form.data.file.size > 0 ? (form.data.file.size > maxPlanBytes ? '\u0000too-large' : await form.data.file.text()) : '';
      const text = fileText !== '' ? fileText : (form.data.yaml ?? '');
      const note = form.data.note;
      if (fileText === '\u0000too-large') return listPage(c, ctx, { message: t('badForm', { what: `file: larger than ${maxPlanBytes / 1024} KB` }), yaml: '', note, status: 400 });
      if (text.trim() === '') return listPage(c, ctx, { message: t('noText'), yaml: '', note, status: 400 });
      let proposal: Awaited<ReturnType<typeof planFromWebText>>;
      try {
        proposal = await planFromWebText(text);
      } catch (e) {
        if (!isIotcleanError(e)) throw e;
        await ctx.audit(c, 'plan.propose.refused', 'plan', { error: e.code, message: e.message });
        return listPage(c, ctx, { message: e.format(), yaml: text, note, status: 400 });
      }
      const { plan, digest } = proposal;
      const r = await ctx.store.planApprovals.propose({ digest, version: plan.version, name: plan.name, body: plan, source: text, note }, actorOf(c), ctx.now());
      if (!r.ok) {
        await ctx.audit(c, 'plan.propose.refused', digest, { reason: r.reason });
        return listPage(c, ctx, { message: `${t(`refused.${r.reason}`)} ${r.message}`, yaml: text, note, status: refusalStatus[r.reason] === 404 ? 409 : refusalStatus[r.reason] as 403 | 409 });
      }
      await ctx.audit(c, 'plan.propose', digest, { version: plan.version, name: plan.name, note });
      return c.redirect(`/ops/plans/${digest}`, 303);
    });

    app.get('/ops/plans/diff', (c) => diffPage(c, ctx));

    app.get('/ops/plans/:digest', (c) => {
      const d = digestParam.safeParse(c.req.param('digest'));
      if (!d.success) return problemPage(c, 404, tr(c, m)('noPlan'));
      return planPage(c, ctx, d.data);
    });

    // Put a stored version (saved by a survey, or rejected before) up for approval as it is.
    app.post('/ops/plans/:digest/propose', async (c) => {
      const t = tr(c, m);
      const d = digestParam.safeParse(c.req.param('digest'));
      if (!d.success) return problemPage(c, 404, t('noPlan'));
      const form = decideForm.safeParse(await c.req.parseBody());
      if (!form.success) return problemPage(c, 400, t('badForm', { what: issueText(form.error) }));
      const stored = await ctx.store.planApprovals.get(d.data);
      if (!stored) return problemPage(c, 404, t('noPlan'));
      const plan = surveyPlanSchema.safeParse(stored.body);
      if (!plan.success) return problemPage(c, 400, t('invalidBody'));
      const r = await ctx.store.planApprovals.propose({ digest: d.data, version: stored.version, name: stored.name, body: stored.body, source: stored.source ?? '', note: form.data.note }, actorOf(c), ctx.now());
      if (!r.ok) {
        await ctx.audit(c, 'plan.propose.refused', d.data, { reason: r.reason });
        return problemPage(c, refusalStatus[r.reason], `${t(`refused.${r.reason}`)} (${r.message})`);
      }
      await ctx.audit(c, 'plan.propose', d.data, { version: stored.version, name: stored.name, note: form.data.note, stored: true });
      return c.redirect(`/ops/plans/${d.data}`, 303);
    });

    for (const [verb, decision] of [
      ['approve', 'approved'],
      ['reject', 'rejected'],
    ] as const) {
      app.post(`/ops/plans/:digest/${verb}`, async (c) => {
        const t = tr(c, m);
        const d = digestParam.safeParse(c.req.param('digest'));
        if (!d.success) return problemPage(c, 404, t('noPlan'));
        const form = decideForm.safeParse(await c.req.parseBody());
        if (!form.success) return problemPage(c, 400, t('badForm', { what: issueText(form.error) }));
        const r = await ctx.store.planApprovals.decide(d.data, decision, actorOf(c), form.data.note, ctx.now());
        if (!r.ok) {
          await ctx.audit(c, `plan.${verb}.refused`, d.data, { reason: r.reason });
          return problemPage(c, refusalStatus[r.reason], `${t(`refused.${r.reason}`)} (${r.message})`);
        }
        await ctx.audit(c, `plan.${verb}`, d.data, { version: r.plan.version, name: r.plan.name, note: form.data.note });
        return c.redirect(`/ops/plans/${d.data}`, 303);
      });
    }
  },
};

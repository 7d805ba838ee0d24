/**
 * The support desk and the remediation manuals (src/web/support/, src/web/manuals/): manual
 * versions (a new version per edit, never an overwrite; one row per language), questions with
 * their answers (the asker's private token kept only as its SHA-256), canned answers per model,
 * the FAQ, and the per-address rate limit of new questions. Times are epoch ms from the caller.
 */
import type { Kysely, Selectable } from 'kysely';
import { IotcleanError } from '../core/errors.js';
import { storableText } from '../core/schemas.js';
import type { Database, WebSupportCannedTable, WebSupportFaqTable, WebSupportQuestionTable } from './schema.js';

export type SupportLang = 'ja' | 'en';
export const questionStatuses = ['open', 'answered', 'closed'] as const;
export type QuestionStatus = (typeof questionStatuses)[number];

/** One language of a manual version. */
export interface ManualText {
  readonly title: string;
  readonly body: string;
}

/** One version of a manual, with the languages it has. */
export interface ManualVersion {
  readonly key: string;
  readonly version: number;
  readonly editedBy: string;
  readonly editedAt: string;
  readonly note: string;
  readonly texts: Readonly<Partial<Record<SupportLang, ManualText>>>;
}

export interface SupportAnswer {
  readonly id: number;
  readonly body: string;
  readonly cannedId: number | null;
  readonly by: string;
  readonly at: string;
  /** A follow-up the asker wrote on the private link (not an answer of the desk). */
  readonly fromAsker: boolean;
}

export interface SupportQuestion {
  readonly id: number;
  readonly reference: string | null;
  readonly modelKey: string | null;
  readonly lang: SupportLang;
  readonly question: string;
  readonly email: string | null;
  readonly status: QuestionStatus;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly answers: readonly SupportAnswer[];
}

export interface CannedAnswer {
  readonly id: number;
  /** The manual key it is for; null: any model. */
  readonly modelKey: string | null;
  readonly lang: SupportLang;
  readonly title: string;
  readonly body: string;
  readonly updatedBy: string;
  readonly updatedAt: string;
}

export interface FaqEntry {
  readonly id: number;
  readonly modelKey: string | null;
  readonly lang: SupportLang;
  readonly question: string;
  readonly answer: string;
  readonly questionId: number | null;
  readonly publishedBy: string;
  readonly publishedAt: string;
  readonly hidden: boolean;
}

export interface WebSupportRepository {
  /** Store version 1 of a manual unless the key has a version already; true when stored. */
  seedManual(key: string, texts: Partial<Record<SupportLang, ManualText>>, note: string, nowMs: number): Promise<boolean>;
  /** The latest version of each manual. */
  manuals(): Promise<ManualVersion[]>;
  /** One version (default: the latest). */
  manual(key: string, version?: number): Promise<ManualVersion | undefined>;
  /** Every version, newest first. */
  manualHistory(key: string): Promise<ManualVersion[]>;
  /**
   * Save an edit as the next version. `basedOn` is the version the editor started from: when
   * another edit came in since, E_BUSY (the caller shows the newer version) instead of a lost update.
   * `basedOn` 0 starts a manual the store does not have yet.
   */
  saveManual(key: string, texts: Partial<Record<SupportLang, ManualText>>, by: string, note: string, basedOn: number, nowMs: number): Promise<ManualVersion>;

  createQuestion(q: { tokenHash: string; reference: string | null; modelKey: string | null; lang: SupportLang; question: string; email: string | null }, nowMs: number): Promise<number>;
  question(id: number): Promise<SupportQuestion | undefined>;
  questionByToken(tokenHash: string): Promise<SupportQuestion | undefined>;
  /** Open questions first, then newest first. */
  questions(filter?: { status?: QuestionStatus; modelKey?: string; limit?: number }): Promise<SupportQuestion[]>;
  /** An answer of the desk, or (fromAsker) the asker's follow-up, which opens the question again. */
  addAnswer(questionId: number, a: { body: string; cannedId: number | null; by: string; fromAsker?: boolean }, nowMs: number): Promise<void>;
  setStatus(questionId: number, status: QuestionStatus, nowMs: number): Promise<void>;

  /** Count a new question from `ip` and return how many it sent since `sinceMs` (this one included); older rows are dropped. */
  countQuestionFrom(ip: string, sinceMs: number, nowMs: number): Promise<number>;

  /** Live canned answers; with a key, those for it and those for any model. */
  canned(modelKey?: string | null): Promise<CannedAnswer[]>;
  cannedAnswer(id: number): Promise<CannedAnswer | undefined>;
  saveCanned(a: { id?: number; modelKey: string | null; lang: SupportLang; title: string; body: string; by: string }, nowMs: number): Promise<number>;
  deleteCanned(id: number): Promise<void>;

  publishFaq(f: { modelKey: string | null; lang: SupportLang; question: string; answer: string; questionId: number | null; by: string }, nowMs: number): Promise<number>;
  faq(filter?: { modelKey?: string; includeHidden?: boolean }): Promise<FaqEntry[]>;
  setFaqHidden(id: number, hidden: boolean): Promise<void>;
}

const iso = (ms: number | string): string => new Date(Number(ms)).toISOString();

const toCanned = (r: Selectable<WebSupportCannedTable>): CannedAnswer => ({
  id: Number(r.id),
  modelKey: r.model_key,
  lang: r.lang as SupportLang,
  title: r.title,
  body: r.body,
  updatedBy: r.updated_by,
  updatedAt: iso(r.updated_ms),
});

const toFaq = (r: Selectable<WebSupportFaqTable>): FaqEntry => ({
  id: Number(r.id),
  modelKey: r.model_key,
  lang: r.lang as SupportLang,
  question: r.question,
  answer: r.answer,
  questionId: r.question_id === null ? null : Number(r.question_id),
  publishedBy: r.published_by,
  publishedAt: iso(r.published_ms),
  hidden: Number(r.hidden) !== 0,
});

export function createWebSupportRepository(db: Kysely<Database>): WebSupportRepository {
  const versionsOf = async (key: string, version?: number): Promise<ManualVersion[]> => {
    let q = db.selectFrom('web_manual_versions').selectAll().where('key', '=', key);
    if (version !== undefined) q = q.where('version', '=', version);
    const rows = await q.orderBy('version', 'desc').orderBy('lang').execute();
    return group(rows);
  };
  const group = (rows: Selectable<Database['web_manual_versions']>[]): ManualVersion[] => {
    const out = new Map<string, { key: string; version: number; editedBy: string; editedAt: string; note: string; texts: Partial<Record<SupportLang, ManualText>> }>();
    for (const r of rows) {
      const id = `${r.key}\u0000${r.version}`;
      let v = out.get(id);
      if (!v) out.set(id, (v = { key: r.key, version: Number(r.version), editedBy: r.edited_by, editedAt: iso(r.edited_ms), note: r.note, texts: {} }));
      v.texts[r.lang as SupportLang] = { title: r.title, body: r.body };
    }
    return [...out.values()];
  };
  const insertVersion = async (tx: Kysely<Database>, key: string, version: number, texts: Partial<Record<SupportLang, ManualText>>, by: string, note: string, nowMs: number) => {
    const rows = (Object.entries(texts) as [SupportLang, ManualText][]).map(([lang, t]) => ({
      key,
      version,
      lang,
      title: storableText(t.title),
      body: storableText(t.body),
      edited_by: storableText(by),
      edited_ms: nowMs,
      note: storableText(note),
    }));
    if (!rows.length) throw new IotcleanError('E_ARGS', `manual ${key}: a version needs at least one language`, { hint: 'give a title and body in Japanese or English' });
    await tx.insertInto('web_manual_versions').values(rows).execute();
  };
  const latestVersion = async (tx: Kysely<Database>, key: string): Promise<number> => {
    const r = await tx.selectFrom('web_manual_versions').select((eb) => eb.fn.max('version').as('v')).where('key', '=', key).executeTakeFirst();
    return r?.v === null || r?.v === undefined ? 0 : Number(r.v);
  };
  const withAnswers = async (rows: Selectable<WebSupportQuestionTable>[]): Promise<SupportQuestion[]> => {
    const ids = rows.map((r) => Number(r.id));
    const answers = ids.length ? await db.selectFrom('web_support_answers').selectAll().where('question_id', 'in', ids).orderBy('id').execute() : [];
    const by = new Map<number, SupportAnswer[]>();
    for (const a of answers) {
      const list = by.get(Number(a.question_id)) ?? [];
      list.push({ id: Number(a.id), body: a.body, cannedId: a.canned_id === null ? null : Number(a.canned_id), by: a.by_name, at: iso(a.at_ms), fromAsker: Number(a.from_asker) !== 0 });
      by.set(Number(a.question_id), list);
    }
    return rows.map((r) => ({
      id: Number(r.id),
      reference: r.reference,
      modelKey: r.model_key,
      lang: r.lang as SupportLang,
      question: r.question,
      email: r.email,
      status: r.status as QuestionStatus,
      createdAt: iso(r.created_ms),
      updatedAt: iso(r.updated_ms),
      answers: by.get(Number(r.id)) ?? [],
    }));
  };

  return {
    async seedManual(key, texts, note, nowMs) {
      if ((await latestVersion(db, key)) > 0) return false;
      try {
        await db.transaction().execute((tx) => insertVersion(tx, key, 1, texts, 'seed', note, nowMs));
        return true;
      } catch (e) {
        // Another server process seeded it at the same moment (the unique key refused ours).
        if ((await latestVersion(db, key)) > 0) return false;
        throw e;
      }
    },
    async manuals() {
      const latest = db.selectFrom('web_manual_versions').select(['key', (eb) => eb.fn.max('version').as('v')]).groupBy('key').as('latest');
      const rows = await db
        .selectFrom('web_manual_versions')
        .innerJoin(latest, (j) => j.onRef('latest.key', '=', 'web_manual_versions.key').onRef('latest.v', '=', 'web_manual_versions.version'))
        .selectAll('web_manual_versions')
        .orderBy('web_manual_versions.key')
        .orderBy('web_manual_versions.lang')
        .execute();
      return group(rows);
    },
    async manual(key, version) {
      if (version === undefined) {
        const v = await latestVersion(db, key);
        if (v === 0) return undefined;
        version = v;
      }
      return (await versionsOf(key, version))[0];
    },
    async manualHistory(key) {
      return versionsOf(key);
    },
    async saveManual(key, texts, by, note, basedOn, nowMs) {
      try {
        return await db.transaction().execute(async (tx) => {
          const current = await latestVersion(tx, key);
          // basedOn 0: the first version of a manual the store has none of yet.
          if (current === 0 && basedOn !== 0) throw new IotcleanError('E_NOT_FOUND', `no manual ${key}`, { hint: 'start it from version 0 (a new manual)' });
          if (current !== basedOn) throw new IotcleanError('E_BUSY', `manual ${key} is at version ${current}, the edit started from version ${basedOn}`, { hint: 'reload the editor, and apply the change to the newer version' });
          await insertVersion(tx, key, current + 1, texts, by, note, nowMs);
          return current + 1;
        }).then(async (v) => (await versionsOf(key, v))[0]!);
      } catch (e) {
        if (e instanceof IotcleanError) throw e;
        // Two edits of the same version at once: the unique key refused the second.
        const current = await latestVersion(db, key);
        if (current !== basedOn) throw new IotcleanError('E_BUSY', `manual ${key} is at version ${current}, the edit started from version ${basedOn}`, { hint: 'reload the editor, and apply the change to the newer version' });
        throw e;
      }
    },

    async createQuestion(q, nowMs) {
      const r = await db
        .insertInto('web_support_questions')
        .values({
          token_hash: q.tokenHash,
          reference: q.reference,
          model_key: q.modelKey,
          lang: q.lang,
          question: storableText(q.question),
          email: storableText(q.email),
          status: 'open',
          created_ms: nowMs,
          updated_ms: nowMs,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      return Number(r.id);
    },
    async question(id) {
      const r = await db.selectFrom('web_support_questions').selectAll().where('id', '=', id).executeTakeFirst();
      return r ? (await withAnswers([r]))[0] : undefined;
    },
    async questionByToken(tokenHash) {
      const r = await db.selectFrom('web_support_questions').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
      return r ? (await withAnswers([r]))[0] : undefined;
    },
    async questions(filter = {}) {
      const limit = Math.min(1000, Math.max(1, filter.limit ?? 200));
      // Open ones first: two index walks on (status, id) instead of sorting every question.
      const page = (open: boolean, n: number) => {
        let q = db.selectFrom('web_support_questions').selectAll().orderBy('id', 'desc').limit(n);
        q = filter.status !== undefined ? q.where('status', '=', filter.status) : q.where('status', open ? '=' : '<>', 'open');
        if (filter.modelKey !== undefined) q = q.where('model_key', '=', filter.modelKey);
        return q.execute();
      };
      if (filter.status !== undefined) return withAnswers(await page(filter.status === 'open', limit));
      const open = await page(true, limit);
      return withAnswers(open.length < limit ? [...open, ...(await page(false, limit - open.length))] : open);
    },
    async addAnswer(questionId, a, nowMs) {
      await db.transaction().execute(async (tx) => {
        await tx.insertInto('web_support_answers').values({ question_id: questionId, body: storableText(a.body), canned_id: a.cannedId, by_name: storableText(a.by), from_asker: a.fromAsker ? 1 : 0, at_ms: nowMs }).execute();
        await tx.updateTable('web_support_questions').set(a.fromAsker ? { updated_ms: nowMs, status: 'open' } : { updated_ms: nowMs }).where('id', '=', questionId).execute();
      });
    },
    async setStatus(questionId, status, nowMs) {
      await db.updateTable('web_support_questions').set({ status, updated_ms: nowMs }).where('id', '=', questionId).execute();
    },

    async countQuestionFrom(ip, sinceMs, nowMs) {
      await db.deleteFrom('web_support_limits').where('at_ms', '<', sinceMs).execute();
      await db.insertInto('web_support_limits').values({ ip, at_ms: nowMs }).execute();
      const r = await db.selectFrom('web_support_limits').select((eb) => eb.fn.countAll<number>().as('n')).where('ip', '=', ip).where('at_ms', '>=', sinceMs).executeTakeFirst();
      return Number(r?.n ?? 0);
    },

    async canned(modelKey) {
      let q = db.selectFrom('web_support_canned').selectAll().where('deleted', '=', 0);
      if (modelKey !== undefined) q = q.where((eb) => (modelKey === null ? eb('model_key', 'is', null) : eb.or([eb('model_key', '=', modelKey), eb('model_key', 'is', null)])));
      return (await q.orderBy('model_key').orderBy('id').execute()).map(toCanned);
    },
    async cannedAnswer(id) {
      const r = await db.selectFrom('web_support_canned').selectAll().where('id', '=', id).where('deleted', '=', 0).executeTakeFirst();
      return r ? toCanned(r) : undefined;
    },
    async saveCanned(a, nowMs) {
      const values = { model_key: a.modelKey, lang: a.lang, title: storableText(a.title), body: storableText(a.body), updated_by: storableText(a.by), updated_ms: nowMs };
      if (a.id !== undefined) {
        const r = await db.updateTable('web_support_canned').set(values).where('id', '=', a.id).where('deleted', '=', 0).executeTakeFirst();
        if (Number(r.numUpdatedRows) === 0) throw new IotcleanError('E_NOT_FOUND', `no canned answer ${a.id}`, { hint: 'it may have been deleted; reload the list' });
        return a.id;
      }
      const r = await db.insertInto('web_support_canned').values(values).returning('id').executeTakeFirstOrThrow();
      return Number(r.id);
    },
    async deleteCanned(id) {
      await db.updateTable('web_support_canned').set({ deleted: 1 }).where('id', '=', id).execute();
    },

    async publishFaq(f, nowMs) {
      const r = await db
        .insertInto('web_support_faq')
        .values({ model_key: f.modelKey, lang: f.lang, question: storableText(f.question), answer: storableText(f.answer), question_id: f.questionId, published_by: storableText(f.by), published_ms: nowMs })
        .returning('id')
        .executeTakeFirstOrThrow();
      return Number(r.id);
    },
    async faq(filter = {}) {
      let q = db.selectFrom('web_support_faq').selectAll();
      if (!filter.includeHidden) q = q.where('hidden', '=', 0);
      if (filter.modelKey !== undefined) q = q.where('model_key', '=', filter.modelKey);
      return (await q.orderBy('model_key').orderBy('id', 'desc').execute()).map(toFaq);
    },
    async setFaqHidden(id, hidden) {
      await db.updateTable('web_support_faq').set({ hidden: hidden ? 1 : 0 }).where('id', '=', id).execute();
    },
  };
}

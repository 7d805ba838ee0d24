/** What the manual and support pages share: the catalogue, the shipped manuals, and the one-time seeding. */
import type { Context } from 'hono';
import type { CatalogueEntry } from '../../core/records.js';
import type { Catalogue } from '../../identify/catalogue.js';
import type { ManualText, ManualVersion, SupportLang } from '../../store/web-support.js';
import type { WebContext, WebEnv } from '../types.js';
import { seedCanned } from '../support/canned-seeds.js';
import { seedManuals, type ManualSeed } from './seeds.js';

export interface DeskDeps {
  readonly catalogue: Catalogue;
  readonly seeds: readonly ManualSeed[];
  /** Resolves once the shipped manuals (and the first canned answers) are in the store (the first call seeds them; a failure is retried next time). */
  ready(): Promise<void>;
  /** The catalogue's models using a manual key. */
  modelsOf(key: string): readonly CatalogueEntry[];
}

export function deskDeps(ctx: WebContext, catalogue: Catalogue, seeds: readonly ManualSeed[]): DeskDeps {
  let seeded: Promise<void> | undefined;
  const byKey = new Map<string, CatalogueEntry[]>();
  for (const e of catalogue.entries) if (e.manual) byKey.set(e.manual, [...(byKey.get(e.manual) ?? []), e]);
  return {
    catalogue,
    seeds,
    ready() {
      seeded ??= seedManuals(ctx.store, seeds, ctx.now()).then(
        async () => {
          await seedCanned(ctx.store, ctx.now());
        },
        (e: unknown) => {
          seeded = undefined;
          throw e;
        },
      );
      return seeded;
    },
    modelsOf: (key) => byKey.get(key) ?? [],
  };
}

/** A manual's text in the request's language, else the other one (and says so). */
export function pickText(v: ManualVersion, lang: SupportLang): { text: ManualText; lang: SupportLang; fallback: boolean } | null {
  const own = v.texts[lang];
  if (own) return { text: own, lang, fallback: false };
  const other: SupportLang = lang === 'ja' ? 'en' : 'ja';
  const t = v.texts[other];
  return t ? { text: t, lang: other, fallback: true } : null;
}

export const langOf = (c: Context<WebEnv>): SupportLang => c.get('lang');

/** Only http(s) links from the catalogue become <a href>. */
export const safeUrl = (u: string | null): string | null => (u !== null && /^https?:\/\//.test(u) ? u : null);

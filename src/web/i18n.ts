/**
 * Japanese and English. Each page module keeps its own messages (one object of {ja, en} per
 * key) beside its code; `translate` picks the request's language and fills {name} slots. The
 * language comes from ?lang=, then the `lang` cookie, then Accept-Language, then Japanese.
 */
import type { Context } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { langs, type Lang, type WebEnv } from './types.js';

export type Messages = Readonly<Record<string, { readonly ja: string; readonly en: string }>>;

export type Translate<M extends Messages> = (key: keyof M & string, vars?: Readonly<Record<string, string | number>>) => string;

/** A translator for one language. Slots are filled with plain text: escaping is the template's job. */
export function translate<M extends Messages>(messages: M, lang: Lang): Translate<M> {
  return (key, vars) => {
    const text = messages[key]?.[lang] ?? key;
    return vars ? text.replace(/\{(\w+)\}/g, (all, name: string) => (name in vars ? String(vars[name]) : all)) : text;
  };
}

/** The translator of a request: `const t = tr(c, messages)`. */
export const tr = <M extends Messages>(c: Context<WebEnv>, messages: M): Translate<M> => translate(messages, c.get('lang'));

const isLang = (s: string | undefined): s is Lang => s !== undefined && (langs as readonly string[]).includes(s);

/** The request's language (see the module comment); ?lang= is remembered in a cookie for a year. */
export function pickLang(c: Context<WebEnv>, secure: boolean): Lang {
  const asked = c.req.query('lang');
  if (isLang(asked)) {
    setCookie(c, 'lang', asked, { path: '/', sameSite: 'Lax', httpOnly: true, secure, maxAge: 365 * 86400 });
    return asked;
  }
  const kept = getCookie(c, 'lang');
  if (isLang(kept)) return kept;
  const header = c.req.header('accept-language') ?? '';
  for (const part of header.split(',')) {
    const tag = part.trim().slice(0, 2).toLowerCase();
    if (isLang(tag)) return tag;
  }
  return 'ja';
}

// One formatter per language, made once: toLocaleString builds a new one per call (~0.4 ms each,
// most of a 200-row list page's time).
const numbers = { ja: new Intl.NumberFormat('ja-JP'), en: new Intl.NumberFormat('en-GB') } as const;
const dates = {
  ja: new Intl.DateTimeFormat('ja-JP', { timeZone: 'Asia/Tokyo', dateStyle: 'medium', timeStyle: 'short' }),
  en: new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Tokyo', dateStyle: 'medium', timeStyle: 'short' }),
} as const;

/** Numbers and dates as the language writes them (dates in Japan's time zone). */
export const formatNumber = (lang: Lang, n: number): string => numbers[lang].format(n);
export const formatDate = (lang: Lang, iso: string): string => {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : dates[lang].format(d);
};

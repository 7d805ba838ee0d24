/**
 * The page shell and HTML helpers. Everything goes through hono/html's `html` tag, which escapes
 * every interpolated value (device banners and titles included); `raw` is for markup made here
 * only, never for stored text. No inline script or style: the shell links /static/app.css and
 * /static/app.js, and a page adds its own static scripts by name.
 */
import type { Context } from 'hono';
import { html, raw } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import { translate } from './i18n.js';
import { operatorRoles, type Lang, type WebEnv } from './types.js';

export { html, raw };
export type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

const shell = {
  site: { ja: 'iotclean — IoT機器のセキュリティ調査', en: 'iotclean — IoT device security survey' },
  skip: { ja: '本文へ移動', en: 'Skip to content' },
  home: { ja: 'ホーム', en: 'Home' },
  stats: { ja: '統計', en: 'Statistics' },
  manuals: { ja: '対策マニュアル', en: 'Manuals' },
  check: { ja: 'セルフチェック', en: 'Self-check' },
  survey: { ja: '調査について', en: 'About the survey' },
  support: { ja: 'サポート', en: 'Support' },
  login: { ja: 'ログイン', en: 'Log in' },
  logout: { ja: 'ログアウト', en: 'Log out' },
  dashboard: { ja: 'ダッシュボード', en: 'Dashboard' },
  findings: { ja: '検出結果', en: 'Findings' },
  opsStats: { ja: '統計', en: 'Statistics' },
  changes: { ja: '急変アラート', en: 'Sudden changes' },
  queue: { ja: '問い合わせ', en: 'Support queue' },
  plans: { ja: '調査計画', en: 'Survey plans' },
  optouts: { ja: '除外申請', en: 'Opt-outs' },
  audit: { ja: '監査ログ', en: 'Audit log' },
  accounts: { ja: 'アカウント', en: 'Accounts' },
  portal: { ja: 'ISPポータル', en: 'ISP portal' },
  batches: { ja: '通知バッチ', en: 'Batches' },
  cases: { ja: '対応状況', en: 'Cases' },
  tokens: { ja: 'APIトークン', en: 'API tokens' },
  language: { ja: 'English', en: '日本語' },
  nav: { ja: 'メニュー', en: 'Menu' },
} as const;

/** The site's sections and their paths: the one list the menu is made from. */
const menus = {
  public: [
    ['home', '/'],
    ['stats', '/stats'],
    ['manuals', '/manuals'],
    ['check', '/check'],
    ['survey', '/about-survey'],
    ['support', '/support'],
  ],
  operator: [
    ['dashboard', '/ops'],
    ['findings', '/ops/findings'],
    ['opsStats', '/ops/stats'],
    ['changes', '/ops/changes'],
    ['queue', '/ops/support'],
    ['plans', '/ops/plans'],
    ['optouts', '/ops/optouts'],
    ['audit', '/ops/audit'],
    ['accounts', '/ops/accounts'],
  ],
  isp: [
    ['portal', '/isp'],
    ['findings', '/isp/findings'],
    ['batches', '/isp/batches'],
    ['cases', '/isp/cases'],
    ['tokens', '/isp/tokens'],
  ],
} as const satisfies Record<string, readonly (readonly [keyof typeof shell, string])[]>;

export interface PageOptions {
  readonly title: string;
  readonly body: Html;
  /** Extra static scripts by file name in ./static/ (e.g. 'progress.js'). */
  readonly scripts?: readonly string[];
  /** HTTP status (default 200). */
  readonly status?: 200 | 400 | 403 | 404 | 409 | 429 | 500;
}

/** The hidden CSRF field every form that changes something carries (see ./security.ts). */
export function csrfField(c: Context<WebEnv>): Html {
  const s = c.get('session');
  return s ? html`<input type="hidden" name="_csrf" value="${s.csrf}">` : html``;
}

/** The same path in the other language. */
function otherLang(c: Context<WebEnv>): { href: string; lang: Lang } {
  const lang: Lang = c.get('lang') === 'ja' ? 'en' : 'ja';
  const url = new URL(c.req.url);
  url.searchParams.set('lang', lang);
  return { href: `${url.pathname}${url.search}`, lang };
}

/** A whole page in the site's shell. */
export function page(c: Context<WebEnv>, o: PageOptions): Response | Promise<Response> {
  const lang = c.get('lang');
  const t = translate(shell, lang);
  const session = c.get('session');
  const role = session?.account.role;
  const menu = role === undefined ? menus.public : operatorRoles.includes(role) ? menus.operator : menus.isp;
  const here = c.req.path;
  const other = otherLang(c);
  const body = html`<!doctype html>
<html lang="${lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${o.title} | iotclean</title>
<link rel="stylesheet" href="/static/app.css">
<script src="/static/app.js" defer></script>
${(o.scripts ?? []).map((s) => html`<script src="/static/${s}" defer></script>`)}
</head>
<body>
<a class="skip" href="#main">${t('skip')}</a>
<header>
<a class="brand" href="${role === undefined ? '/' : role === 'isp' ? '/isp' : '/ops'}">iotclean</a>
<nav aria-label="${t('nav')}"><ul>
${menu.map(([key, path]) => html`<li><a href="${path}"${here === path ? raw(' aria-current="page"') : ''}>${t(key)}</a></li>`)}
</ul></nav>
<div class="who">
<a class="lang" href="${other.href}" hreflang="${other.lang}" lang="${other.lang}" id="lang-switch">${t('language')}</a>
${
  session
    ? html`<span class="account">${session.account.displayName}</span>
<form method="post" action="/logout" class="inline">${csrfField(c)}<button type="submit" id="logout">${t('logout')}</button></form>`
    : html`<a href="/login" id="login-link">${t('login')}</a>`
}
</div>
</header>
<main id="main">
<h1>${o.title}</h1>
${o.body}
</main>
<footer><a href="/about-survey">${t('survey')}</a> · <a href="/stats">${t('stats')}</a></footer>
</body>
</html>`;
  return c.html(body, o.status ?? 200);
}

/** A short page that says what went wrong (404, 403, 400, 429). */
export function problemPage(c: Context<WebEnv>, status: 400 | 403 | 404 | 409 | 429, message: string): Response | Promise<Response> {
  const titles = {
    400: { ja: 'リクエストが正しくありません', en: 'Bad request' },
    403: { ja: '権限がありません', en: 'Forbidden' },
    404: { ja: 'ページが見つかりません', en: 'Not found' },
    409: { ja: '競合しました', en: 'Conflict' },
    429: { ja: 'しばらくしてからお試しください', en: 'Too many requests' },
  } as const;
  return page(c, { title: titles[status][c.get('lang')], body: html`<p class="problem">${message}</p>`, status });
}

/**
 * What a device's page tells, from one htmlparser2 pass over its (bounded) text: the first
 * <title> (RCDATA in HTML, so a <script> inside a title is text: kept as text, escaped where it
 * is displayed), a login form (a <form> holding an <input type=password>, or password inputs with
 * no form, as script-driven device UIs have), a meta refresh, a trivial script redirect, and the
 * icon link. Everything kept is bounded; the parser never throws on any input.
 */
import { Parser } from 'htmlparser2';
import type { LoginForm, LoginFormField } from '../fields.js';
import { cleanText } from './response.js';

/** What one page says about the device and where it leads. */
export interface PageFacts {
  readonly title: string | null;
  readonly loginForm: LoginForm | null;
  /** The URL of `<meta http-equiv=refresh content="N; url=...">`, as written. */
  readonly metaRefresh: string | null;
  /** The URL a `location.href = "..."`-style statement sends to, as written. */
  readonly scriptRedirect: string | null;
  /** href of the first `<link rel="icon">` / `"shortcut icon"`. */
  readonly iconHref: string | null;
  /** Characters of visible text (outside script, style and title), to tell a redirect stub from a real page. */
  readonly textChars: number;
}

const maxTitle = 256;
const maxAttr = 1024;
const maxName = 128;
const maxFields = 32;
const maxForms = 16;
const maxScript = 16 * 1024;

/** Whitespace runs become one space; control characters never survive. */
export function collapse(text: string, max: number): string {
  return cleanText(text.replace(/[\s\u00a0\u3000]+/g, ' ').trim()).slice(0, max);
}

function attr(attrs: Record<string, string>, name: string, max = maxAttr): string | null {
  const v = attrs[name];
  return v === undefined ? null : cleanText(v.trim()).slice(0, max);
}

/** The URL of a meta refresh content value ("0; url=/login.htm", "5;URL='x'"). */
export function refreshUrl(content: string): string | null {
  const m = /^\s*\d*(?:\.\d*)?\s*[;,]?\s*(?:url\s*=\s*)?(['"]?)([^'"]*)\1\s*$/i.exec(content);
  const url = m?.[2]?.trim();
  return url ? url.slice(0, maxAttr) : null;
}

/** location.href = "x", window.location = 'x', top.location.replace("x"), location.assign('x'). */
const scriptRedirectPatterns = [
  /(?<![\w$])(?:(?:window|document|top|self|parent)\s*\.\s*)?location(?:\s*\.\s*href)?\s*=\s*(["'])([^"'\r\n]{1,1024})\1/,
  /(?<![\w$])(?:(?:window|document|top|self|parent)\s*\.\s*)?location\s*\.\s*(?:replace|assign)\s*\(\s*(["'])([^"'\r\n]{1,1024})\1\s*\)/,
];

/** The target of the first trivial script redirect in `script`, if any. */
export function scriptRedirectOf(script: string): string | null {
  let best: { at: number; url: string } | undefined;
  for (const p of scriptRedirectPatterns) {
    const m = p.exec(script);
    if (m?.[2] && (!best || m.index < best.at)) best = { at: m.index, url: m[2] };
  }
  return best ? cleanText(best.url) : null;
}

interface OpenForm {
  action: string | null;
  method: string;
  fields: LoginFormField[];
  password: boolean;
}

/** Read the facts of a page. Bounded in what it keeps; linear in the input. */
export function pageFacts(html: string): PageFacts {
  let title: string | null = null;
  let inTitle = false;
  let titleText = '';
  let skip = 0; // depth inside script/style
  let script = '';
  let textChars = 0;
  let metaRefresh: string | null = null;
  let iconHref: string | null = null;
  const forms: OpenForm[] = [];
  let current: OpenForm | undefined;
  // Password inputs outside any <form>: script-driven device UIs post them from JavaScript.
  const orphan: OpenForm = { action: null, method: 'get', fields: [], password: false };

  const parser = new Parser(
    {
      onopentag(name, attrs) {
        if (name === 'title' && title === null && !inTitle) inTitle = true;
        else if (name === 'script' || name === 'style') skip++;
        else if (name === 'meta') {
          if ((attrs['http-equiv'] ?? '').trim().toLowerCase() === 'refresh' && metaRefresh === null) metaRefresh = refreshUrl(attrs['content'] ?? '');
        } else if (name === 'link') {
          const rel = (attrs['rel'] ?? '').toLowerCase().split(/\s+/);
          if (rel.includes('icon') && iconHref === null) iconHref = attr(attrs, 'href');
        } else if (name === 'form') {
          if (current) forms.push(current);
          current = { action: attr(attrs, 'action'), method: (attr(attrs, 'method', 16) ?? 'get').toLowerCase(), fields: [], password: false };
        } else if (name === 'input' || name === 'select' || name === 'textarea') {
          const type = name === 'input' ? (attr(attrs, 'type', 32) ?? 'text').toLowerCase() : name;
          const into = current ?? orphan;
          if (into.fields.length < maxFields) into.fields.push({ name: attr(attrs, 'name', maxName) ?? attr(attrs, 'id', maxName) ?? '', type });
          if (type === 'password') into.password = true;
        }
      },
      ontext(text) {
        if (inTitle) {
          if (titleText.length < maxTitle * 4) titleText += text;
        } else if (skip > 0) {
          if (script.length < maxScript) script += text.slice(0, maxScript - script.length);
        } else textChars += text.trim().length;
      },
      onclosetag(name) {
        if (name === 'title' && inTitle) {
          inTitle = false;
          title = collapse(titleText, maxTitle);
        } else if ((name === 'script' || name === 'style') && skip > 0) skip--;
        else if (name === 'form' && current) {
          if (forms.length < maxForms) forms.push(current);
          current = undefined;
        }
      },
    },
    { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true },
  );
  parser.write(html);
  parser.end();
  if (inTitle && title === null) title = collapse(titleText, maxTitle); // a title the page never closed
  if (current) forms.push(current);
  const login = forms.find((f) => f.password) ?? (orphan.password ? orphan : undefined);
  return {
    title: title === '' ? null : title,
    loginForm: login ? { action: login.action, method: login.method, fields: login.fields } : null,
    metaRefresh,
    scriptRedirect: scriptRedirectOf(script),
    iconHref,
    textChars,
  };
}

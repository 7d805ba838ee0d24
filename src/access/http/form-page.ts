/**
 * A login page read for submitting it, as a browser without JavaScript would: the form holding the
 * first password input, every field it would send (hidden fields such as CSRF tokens with their
 * values, the checked boxes, the first named submit control), the username input, and whether the
 * login needs JavaScript (the password input outside any form, a `javascript:` action, an onsubmit
 * that returns false, or no control that submits). Also the page's logout link, if any. One
 * htmlparser2 pass; bounded in what it keeps; never throws.
 */
import { Parser } from 'htmlparser2';
import { cleanText } from '../../grab/http/response.js';

/** One field a submit would send. */
export interface FormField {
  readonly name: string;
  readonly type: string;
  readonly value: string;
}

export interface SubmitForm {
  /** The action as written (null: the page itself). */
  readonly action: string | null;
  readonly method: 'get' | 'post';
  /** Name of the username input, or null (password-only logins). */
  readonly usernameField: string | null;
  readonly passwordField: string;
  /** What else is sent, in document order (hidden, checked, selected, the submit control). */
  readonly fields: readonly FormField[];
}

export interface LoginPage {
  /** The form to submit, when a browser without scripts could submit it. */
  readonly form: SubmitForm | null;
  /** Why the login needs JavaScript, when it does. */
  readonly needsScript: string | null;
  /** Whether the page holds any password input. */
  readonly passwordInput: boolean;
  /** href of a logout link (text or href naming logout / log off / sign out), as written. */
  readonly logout: string | null;
}

const maxFields = 64;
const maxValue = 4096;
const maxForms = 16;

interface OpenForm {
  action: string | null;
  method: string;
  onsubmitFalse: boolean;
  inputs: { name: string; type: string; value: string; checked: boolean; submit: boolean }[];
  password: string | null;
  passwordCount: number;
  canSubmit: boolean;
}

const logoutPattern = /log\s*-?_?\s*(?:out|off)|sign\s*-?_?\s*(?:out|off)|ログアウト/i;

const value = (v: string | undefined, max = maxValue): string => cleanText(v ?? '').slice(0, max);

/** Read a login page. */
export function parseLoginPage(html: string): LoginPage {
  const forms: OpenForm[] = [];
  let current: OpenForm | undefined;
  let orphanPassword = false;
  let select: { name: string; first: string | null; selected: string | null; into: OpenForm } | undefined;
  let link: { href: string; text: string } | undefined;
  let logout: string | null = null;

  const parser = new Parser(
    {
      onopentag(name, attrs) {
        if (name === 'form') {
          if (current && forms.length < maxForms) forms.push(current);
          const onsubmit = attrs['onsubmit'] ?? '';
          current = {
            action: attrs['action'] !== undefined ? value(attrs['action'], 2048).trim() : null,
            method: (attrs['method'] ?? 'get').trim().toLowerCase(),
            // "return check()" validates and then submits; only a handler that never lets it submit needs script.
            onsubmitFalse: /return\s+false|preventDefault/i.test(onsubmit),
            inputs: [],
            password: null,
            passwordCount: 0,
            canSubmit: false,
          };
        } else if (name === 'input' || name === 'button') {
          const type = (attrs['type'] ?? (name === 'button' ? 'submit' : 'text')).trim().toLowerCase();
          const submit = type === 'submit' || type === 'image';
          if (!current) {
            if (type === 'password') orphanPassword = true;
            return;
          }
          if (submit) current.canSubmit = true;
          const field = value(attrs['name'], 256);
          if (type === 'password') {
            current.passwordCount++;
            if (current.password === null && field !== '') current.password = field;
            return;
          }
          if (field === '' || current.inputs.length >= maxFields) return;
          current.inputs.push({ name: field, type, value: value(attrs['value']), checked: attrs['checked'] !== undefined, submit });
        } else if (name === 'select' && current) {
          select = { name: value(attrs['name'], 256), first: null, selected: null, into: current };
        } else if (name === 'option' && select) {
          const v = value(attrs['value']);
          if (select.first === null) select.first = v;
          if (attrs['selected'] !== undefined && select.selected === null) select.selected = v;
        } else if (name === 'a' && attrs['href'] !== undefined) {
          link = { href: value(attrs['href'], 2048).trim(), text: '' };
        }
      },
      ontext(text) {
        if (link && link.text.length < 256) link.text += text;
      },
      onclosetag(name) {
        if (name === 'form' && current) {
          if (forms.length < maxForms) forms.push(current);
          current = undefined;
        } else if (name === 'select' && select) {
          if (select.name !== '' && select.into.inputs.length < maxFields) select.into.inputs.push({ name: select.name, type: 'select', value: select.selected ?? select.first ?? '', checked: true, submit: false });
          select = undefined;
        } else if (name === 'a' && link) {
          if (logout === null && !/^\s*javascript:/i.test(link.href) && (logoutPattern.test(link.href) || logoutPattern.test(link.text))) logout = link.href;
          link = undefined;
        }
      },
    },
    { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true },
  );
  parser.write(html);
  parser.end();
  if (current && forms.length < maxForms) forms.push(current);

  const login = forms.find((f) => f.passwordCount > 0);
  const passwordInput = orphanPassword || login !== undefined;
  if (!login) return { form: null, needsScript: orphanPassword ? 'the password input is outside any form (the page posts it from script)' : null, passwordInput, logout };
  const needsScript =
    login.password === null
      ? 'the password input has no name (script reads it)'
      : login.action !== null && /^\s*javascript:/i.test(login.action)
        ? 'the form action is javascript:'
        : login.onsubmitFalse
          ? 'the form is submitted from an onsubmit handler'
          : !login.canSubmit
            ? 'the form has no submit control (a script posts it)'
            : null;
  if (needsScript || login.password === null) return { form: null, needsScript, passwordInput, logout };

  const usernameInput = login.inputs.find((i) => ['text', 'email', 'tel', ''].includes(i.type));
  const fields: FormField[] = [];
  let submitTaken = false;
  for (const i of login.inputs) {
    if (i === usernameInput) continue;
    if (i.submit) {
      // A browser sends only the control that was clicked: the first one.
      if (!submitTaken) fields.push({ name: i.name, type: i.type, value: i.value });
      submitTaken = true;
      continue;
    }
    if ((i.type === 'checkbox' || i.type === 'radio') && !i.checked) continue;
    if (['button', 'reset', 'file'].includes(i.type)) continue;
    fields.push({ name: i.name, type: i.type, value: i.type === 'checkbox' && i.value === '' ? 'on' : i.value });
  }
  const method = login.method === 'post' ? 'post' : 'get';
  return { form: { action: login.action, method, usernameField: usernameInput?.name ?? null, passwordField: login.password, fields }, needsScript: null, passwordInput, logout };
}

/** The urlencoded body (or query) a browser would send for this pair (HTML's application/x-www-form-urlencoded). */
export function formBody(form: SubmitForm, username: string, password: string): string {
  const out = new URLSearchParams();
  // Document order is lost for username/password; servers read fields by name.
  if (form.usernameField !== null) out.append(form.usernameField, username);
  out.append(form.passwordField, password);
  for (const f of form.fields) out.append(f.name, f.value);
  return out.toString();
}
